#ifndef VOLUMED_CCHECKSUM_SHIM_H
#define VOLUMED_CCHECKSUM_SHIM_H
/* CRC-32C (Castagnoli) with the SSE 4.2 CRC32 instruction, which hashes eight bytes per
 * instruction. Callers check cchecksum_crc32c_hardware() first; without it they fall back
 * to their own table. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static inline int cchecksum_crc32c_hardware(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

/* `crc` is the running value (already inverted); the caller inverts before and after. */
__attribute__((target("sse4.2")))
static inline uint32_t cchecksum_crc32c_update(uint32_t crc, const uint8_t *bytes, size_t count) {
    uint64_t state = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, bytes, sizeof word);
        state = __builtin_ia32_crc32di(state, word);
        bytes += 8;
        count -= 8;
    }
    uint32_t value = (uint32_t)state;
    while (count--) value = __builtin_ia32_crc32qi(value, *bytes++);
    return value;
}
#else
static inline int cchecksum_crc32c_hardware(void) { return 0; }

static inline uint32_t cchecksum_crc32c_update(uint32_t crc, const uint8_t *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;
}
#endif
#endif
