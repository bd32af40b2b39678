// [LibraryImport] bindings of the CUDA driver API ("cuda" -> libcuda.so.1 via CudaLibraries).
// Entry points use the _v2 names the driver exports for the 64-bit-size versions, as cuda.h's
// macros map them (cuMemAlloc -> cuMemAlloc_v2, ...). Handles are nint, device pointers ulong.
using System.Runtime.InteropServices;

namespace Cochlea.Cuda.Driver;

internal static unsafe partial class NativeMethods
{
    const string Lib = "cuda";

    [LibraryImport(Lib)] internal static partial CuResult cuInit(uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuDriverGetVersion(int* version);
    [LibraryImport(Lib)] internal static partial CuResult cuGetErrorName(CuResult error, byte** name);
    [LibraryImport(Lib)] internal static partial CuResult cuGetErrorString(CuResult error, byte** text);

    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetCount(int* count);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetAttribute(int* value, CuDeviceAttribute attribute, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Lib)] internal static partial CuResult cuDevicePrimaryCtxRetain(nint* context, int device);
    [LibraryImport(Lib, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] internal static partial CuResult cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(Lib)] internal static partial CuResult cuCtxSetCurrent(nint context);

    [LibraryImport(Lib, EntryPoint = "cuMemAlloc_v2")] internal static partial CuResult cuMemAlloc(ulong* dptr, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemFree_v2")] internal static partial CuResult cuMemFree(ulong dptr);
    [LibraryImport(Lib, EntryPoint = "cuMemGetInfo_v2")] internal static partial CuResult cuMemGetInfo(nuint* free, nuint* total);
    [LibraryImport(Lib)] internal static partial CuResult cuMemHostAlloc(void** pp, nuint bytes, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuMemFreeHost(void* p);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoDAsync_v2")] internal static partial CuResult cuMemcpyHtoDAsync(ulong dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoHAsync_v2")] internal static partial CuResult cuMemcpyDtoHAsync(void* dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoDAsync_v2")] internal static partial CuResult cuMemcpyDtoDAsync(ulong dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemsetD8Async(ulong dst, byte value, nuint count, nint stream);

    [LibraryImport(Lib)] internal static partial CuResult cuStreamCreate(nint* stream, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuStreamDestroy_v2")] internal static partial CuResult cuStreamDestroy(nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamSynchronize(nint stream);

    [LibraryImport(Lib)] internal static partial CuResult cuEventCreate(nint* ev, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuEventDestroy_v2")] internal static partial CuResult cuEventDestroy(nint ev);
    [LibraryImport(Lib)] internal static partial CuResult cuEventRecord(nint ev, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuEventSynchronize(nint ev);

    // CUDA 13's cuda.h maps cuEventElapsedTime to cuEventElapsedTime_v2 (exported by drivers since 12.8; the
    // first version is gone from the 13 headers), while drivers before 12.8 export only cuEventElapsedTime:
    // take _v2 where the driver has it, else the first version (same signature and meaning).
    static delegate* unmanaged<float*, nint, nint, CuResult> s_eventElapsedTime;

    internal static CuResult cuEventElapsedTime(float* milliseconds, nint start, nint end)
    {
        var f = s_eventElapsedTime;
        if (f == null) s_eventElapsedTime = f = ResolveEventElapsedTime();
        return f(milliseconds, start, end);
    }

    static delegate* unmanaged<float*, nint, nint, CuResult> ResolveEventElapsedTime()
    {
        nint lib = CudaLibraries.Require(Lib);
        if (NativeLibrary.TryGetExport(lib, "cuEventElapsedTime_v2", out var p) || NativeLibrary.TryGetExport(lib, "cuEventElapsedTime", out p))
            return (delegate* unmanaged<float*, nint, nint, CuResult>)p;
        throw new EntryPointNotFoundException("libcuda.so.1 exports neither cuEventElapsedTime_v2 nor cuEventElapsedTime.");
    }

    [LibraryImport(Lib)] internal static partial CuResult cuModuleLoadData(nint* module, void* image);
    [LibraryImport(Lib)] internal static partial CuResult cuModuleUnload(nint module);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial CuResult cuModuleGetFunction(nint* function, nint module, string name);
    [LibraryImport(Lib)]
    internal static partial CuResult cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);
}
