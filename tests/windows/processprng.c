/*
 * bcryptprimitives.dll for Wine 8: only `ProcessPrng`.
 *
 * Rust's standard library (1.78 and later) gets its random bytes from
 * bcryptprimitives.dll!ProcessPrng, which Windows 10 and later export. Wine 8.0
 * lacks it, so mfa-rollout.exe stops before main with exit code 53 and prints
 * nothing. tests/windows/run.sh builds this file with mingw and puts the DLL
 * beside the exe in its throwaway Wine prefix; it is a test-runtime shim only,
 * never shipped (real Windows has the function).
 *
 * ProcessPrng fills the buffer and always returns TRUE; RtlGenRandom
 * (advapi32!SystemFunction036) does the work, in chunks because it takes a
 * ULONG length.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *       processprng.c processprng.def -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000u ? 0x40000000u : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            /* Windows' ProcessPrng cannot fail; nor may this one return
             * unfilled bytes as if they were random. */
            RaiseException(0xC0000001u /* STATUS_UNSUCCESSFUL */, EXCEPTION_NONCONTINUABLE, 0, NULL);
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
