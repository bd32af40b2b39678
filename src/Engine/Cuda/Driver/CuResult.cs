// Driver API result codes and the few enums/flags the runtime passes (values from cuda.h).
namespace Cochlea.Cuda.Driver;

/// <summary>CUresult: the driver API's status code (the common values; others print as numbers).</summary>
public enum CuResult
{
    Success = 0,
    ErrorInvalidValue = 1,
    ErrorOutOfMemory = 2,
    ErrorNotInitialized = 3,
    ErrorDeinitialized = 4,
    ErrorStubLibrary = 34,
    ErrorNoDevice = 100,
    ErrorInvalidDevice = 101,
    ErrorInvalidImage = 200,
    ErrorInvalidContext = 201,
    ErrorNoBinaryForGpu = 209,
    ErrorUnsupportedPtxVersion = 222,
    ErrorInvalidPtx = 218,
    ErrorInvalidSource = 300,
    ErrorFileNotFound = 301,
    ErrorInvalidHandle = 400,
    ErrorNotFound = 500,
    ErrorNotReady = 600,
    ErrorIllegalAddress = 700,
    ErrorLaunchOutOfResources = 701,
    ErrorLaunchTimeout = 702,
    ErrorLaunchFailed = 719,
    ErrorNotSupported = 801,
    ErrorUnknown = 999,
}

/// <summary>CUdevice_attribute values used here.</summary>
public enum CuDeviceAttribute
{
    MaxThreadsPerBlock = 1,
    MultiprocessorCount = 16,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
}

/// <summary>Flags for cuStreamCreate, cuEventCreate and cuMemHostAlloc.</summary>
public static class CuFlags
{
    /// <summary>CU_STREAM_NON_BLOCKING: no implicit synchronisation with the legacy NULL stream.</summary>
    public const uint StreamNonBlocking = 0x1;
    /// <summary>CU_EVENT_DEFAULT (timing enabled).</summary>
    public const uint EventDefault = 0x0;
    /// <summary>CU_EVENT_DISABLE_TIMING.</summary>
    public const uint EventDisableTiming = 0x2;
    /// <summary>CU_MEMHOSTALLOC_PORTABLE: pinned for every context.</summary>
    public const uint MemHostAllocPortable = 0x1;
}
