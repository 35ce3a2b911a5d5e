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

/* Multiplication modulo the (reflected) Castagnoli polynomial, and x^(8n) modulo it: what
 * a CRC register must be multiplied by to skip over n bytes (zlib's crc32_combine method). */
static inline uint32_t cchecksum_multiply(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t bit = (uint32_t)1 << 31; bit != 0; bit >>= 1) {
        if (a & bit) product ^= b;
        b = (b & 1) ? (b >> 1) ^ 0x82F63B78u : b >> 1;
    }
    return product;
}

static inline uint32_t cchecksum_shift(uint32_t crc, size_t bytes) {
    uint32_t power = (uint32_t)1 << 23; /* x^8: one byte (x^k is bit 31 - k) */
    uint32_t factor = (uint32_t)1 << 31; /* x^0 */
    for (; bytes != 0; bytes >>= 1) {
        if (bytes & 1) factor = cchecksum_multiply(power, factor);
        power = cchecksum_multiply(power, power);
    }
    return cchecksum_multiply(factor, crc);
}

__attribute__((target("sse4.2")))
static inline uint64_t cchecksum_crc32c_words(uint64_t state, const uint8_t *bytes, size_t words) {
    for (size_t index = 0; index < words; index++) {
        uint64_t word;
        memcpy(&word, bytes + 8 * index, sizeof word);
        state = __builtin_ia32_crc32di(state, word);
    }
    return state;
}

/* `crc` is the running value (already inverted); the caller inverts before and after.
 * One CRC32 instruction has three cycles of latency but starts every cycle, so long inputs
 * run as three interleaved lanes whose registers are combined at the end. */
__attribute__((target("sse4.2")))
static inline uint32_t cchecksum_crc32c_update(uint32_t crc, const uint8_t *bytes, size_t count) {
    uint64_t state = crc;
    if (count >= 8192) {
        size_t lane = (count / 24) * 8;
        const uint8_t *second = bytes + lane, *third = bytes + 2 * lane;
        uint64_t state2 = 0, state3 = 0;
        for (size_t offset = 0; offset < lane; offset += 8) {
            uint64_t word1, word2, word3;
            memcpy(&word1, bytes + offset, 8);
            memcpy(&word2, second + offset, 8);
            memcpy(&word3, third + offset, 8);
            state = __builtin_ia32_crc32di(state, word1);
            state2 = __builtin_ia32_crc32di(state2, word2);
            state3 = __builtin_ia32_crc32di(state3, word3);
        }
        state = cchecksum_shift((uint32_t)state, lane) ^ (uint32_t)state2;
        state = cchecksum_shift((uint32_t)state, lane) ^ (uint32_t)state3;
        bytes += 3 * lane;
        count -= 3 * lane;
    }
    state = cchecksum_crc32c_words(state, bytes, count / 8);
    bytes += count & ~(size_t)7;
    count &= 7;
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
