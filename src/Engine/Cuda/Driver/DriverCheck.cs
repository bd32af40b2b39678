// The one place driver API status codes become exceptions: the message names the call, the
// error's name and description (cuGetErrorName/cuGetErrorString) and, for common ones, the fix.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cochlea.Cuda.Driver;

/// <summary>Turns CUresult codes into <see cref="CudaException"/>s.</summary>
public static unsafe class DriverCheck
{
    /// <summary>Throws unless <paramref name="result"/> is CUDA_SUCCESS; <paramref name="call"/> names the API call (with context).</summary>
    public static void Check(CuResult result, string call)
    {
        if (result != CuResult.Success) throw new CudaException(Describe(result, call));
    }

    /// <summary>As <see cref="Check(CuResult, string)"/>; an interpolated <paramref name="call"/> is formatted only on failure.</summary>
    public static void Check(CuResult result, [InterpolatedStringHandlerArgument(nameof(result))] ref CheckMessage call)
    {
        if (result != CuResult.Success) throw new CudaException(Describe(result, call.ToStringAndClear()));
    }

    /// <summary>"cuMemAlloc(4096): CUDA_ERROR_OUT_OF_MEMORY (out of memory)".</summary>
    public static string Describe(CuResult result, string call) => $"{call}: {Name(result)} ({Text(result)})";

    /// <summary>The driver's name for the code ("CUDA_ERROR_NO_DEVICE"), or the number when unknown.</summary>
    public static string Name(CuResult result)
    {
        byte* s = null;
        try { if (NativeMethods.cuGetErrorName(result, &s) == CuResult.Success && s != null) return Marshal.PtrToStringUTF8((nint)s)!; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return $"CUresult {(int)result}";
    }

    /// <summary>The driver's description of the code, or a short one of ours when the driver cannot say.</summary>
    public static string Text(CuResult result)
    {
        byte* s = null;
        try { if (NativeMethods.cuGetErrorString(result, &s) == CuResult.Success && s != null) return Marshal.PtrToStringUTF8((nint)s)!; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return result.ToString();
    }
}
