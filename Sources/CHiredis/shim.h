#ifndef VOLUMED_CHIREDIS_SHIM_H
#define VOLUMED_CHIREDIS_SHIM_H
#include <hiredis.h>
#endif
