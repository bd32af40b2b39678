// [LibraryImport] bindings of NVRTC ("nvrtc" -> libnvrtc.so.13/.12/.11.2 via CudaLibraries),
// its status codes (nvrtc.h) and the program handle.
using System.Runtime.InteropServices;

namespace Cochlea.Cuda.Nvrtc;

/// <summary>nvrtcResult.</summary>
public enum NvrtcResult
{
    Success = 0,
    ErrorOutOfMemory = 1,
    ErrorProgramCreationFailure = 2,
    ErrorInvalidInput = 3,
    ErrorInvalidProgram = 4,
    ErrorInvalidOption = 5,
    ErrorCompilation = 6,
    ErrorBuiltinOperationFailure = 7,
    ErrorNoNameExpressionsAfterCompilation = 8,
    ErrorNoLoweredNamesBeforeCompilation = 9,
    ErrorNameExpressionNotValid = 10,
    ErrorInternalError = 11,
}

internal static unsafe partial class NvrtcNative
{
    const string Lib = "nvrtc";

    [LibraryImport(Lib)] internal static partial byte* nvrtcGetErrorString(NvrtcResult result);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcVersion(int* major, int* minor);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetNumSupportedArchs(int* count);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetSupportedArchs(int* archs);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcCreateProgram(nint* prog, byte* src, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcDestroyProgram(nint* prog);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcCompileProgram(nint prog, int numOptions, byte** options);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetProgramLogSize(nint prog, nuint* size);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetProgramLog(nint prog, byte* log);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetPTXSize(nint prog, nuint* size);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetPTX(nint prog, byte* ptx);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetCUBINSize(nint prog, nuint* size);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetCUBIN(nint prog, byte* cubin);
}

/// <summary>An nvrtcProgram, destroyed with nvrtcDestroyProgram.</summary>
internal sealed unsafe class NvrtcProgramHandle : SafeHandle
{
    internal NvrtcProgramHandle(nint p) : base(0, true) => SetHandle(p);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        nint p = handle;
        return NvrtcNative.nvrtcDestroyProgram(&p) == NvrtcResult.Success;
    }
}
