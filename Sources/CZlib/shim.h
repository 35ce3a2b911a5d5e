#ifndef VOLUMED_CZLIB_SHIM_H
#define VOLUMED_CZLIB_SHIM_H
#include <zlib.h>
#endif
