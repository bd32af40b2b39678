// The tensor: a typed, strided view over reference-counted storage, plus the autograd
// fields (RequiresGrad, Grad, GradFn). Views share storage; ops make new tensors.
using System.Runtime.CompilerServices;
using Cochlea.Autograd;
using Cochlea.Memory;

namespace Cochlea;

/// <summary>
/// An n-dimensional array of <see cref="DType"/> elements on a <see cref="Device"/>, with
/// shape, strides (in elements) and an offset into shared <see cref="Storage"/>.
/// Disposable: dispose it, or create it inside <see cref="Scope"/>, to return its memory to the pool.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    readonly int[] _shape;
    long[]? _strides;   // null: the row-major contiguous strides of _shape, made on first read (most tensors never need them)
    Storage? _storage;
    bool _requiresGrad;

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Offset of element [0,...,0] in the storage, in elements.</summary>
    public long Offset { get; private set; }

    /// <summary>Sizes per dimension (a copy-free read-only view).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Strides per dimension, in elements (0 on broadcast dimensions).</summary>
    public ReadOnlySpan<long> Strides => StrideArray;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Total number of elements.</summary>
    public long Numel { get; }

    /// <summary>Device holding the data.</summary>
    public Device Device => Storage.Device;

    /// <summary>The scope that will dispose this tensor, if any.</summary>
    internal TensorScope? OwnerScope { get; set; }

    /// <summary>Optional name, used in error messages and checkpoints.</summary>
    public string? Name { get; set; }

    internal Tensor(Storage storage, int[] shape, long[]? strides, long offset, DType dtype)
    {
        _storage = storage;
        _shape = shape;
        _strides = strides;
        Offset = offset;
        DType = dtype;
        long n = 1;
        foreach (var s in shape) n *= s;
        Numel = n;
        var scope = TensorScope.Current;
        if (scope is not null) { OwnerScope = scope; scope.Register(this); }
    }

    /// <summary>The storage; throws <see cref="ObjectDisposedException"/> after Dispose.</summary>
    public Storage Storage => _storage ?? throw new ObjectDisposedException(Describe(), "This tensor was disposed (directly or by its Tensor.Scope); keep it with Keep() if you need it after the scope.");

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _storage is null;

    // ---------------------------------------------------------------- creation

    /// <summary>Uninitialised tensor of the given shape (contiguous).</summary>
    public static Tensor Empty(ReadOnlySpan<int> shape, DType dtype = DType.Float32) => EmptyOwning(shape.ToArray(), dtype, Device.Cpu);

    /// <summary>Uninitialised contiguous tensor on <paramref name="device"/>.</summary>
    public static Tensor Empty(ReadOnlySpan<int> shape, DType dtype, Device device) => EmptyOwning(shape.ToArray(), dtype, device);

    /// <summary>
    /// As <see cref="Empty(ReadOnlySpan{int}, DType, Device)"/>, keeping <paramref name="shape"/> itself as the tensor's shape
    /// (no copy): for a fresh array or another tensor's <see cref="ShapeArray"/>. A tensor's shape array is never written
    /// (views share it already), so sharing is safe as long as the caller does not write the array afterwards.
    /// </summary>
    internal static Tensor EmptyOwning(int[] shape, DType dtype, Device device)
    {
        long n = CheckShape(shape);
        var storage = device.IsCpu ? new Storage(Math.Max(1, n) * dtype.Size()) : new Storage(Math.Max(1, n) * dtype.Size(), device);
        return new Tensor(storage, shape, null, 0, dtype);
    }

    /// <summary>Device address of element [0,...,0] of a CUDA tensor (any dtype).</summary>
    public ulong DevicePtr => Storage.DevicePointer + (ulong)(Offset * DType.Size());

    /// <summary>Uninitialised float32 tensor.</summary>
    public static Tensor Empty(params int[] shape) => Empty((ReadOnlySpan<int>)shape);

    /// <summary>Tensor filled with zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Full(0f, shape);

    /// <summary>Tensor filled with ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>Zeros with the shape and device of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros(like.Device, like._shape);

    /// <summary>Tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Empty(shape);
        new Span<float>(t.DataPtr, checked((int)t.Numel)).Fill(value);
        return t;
    }

    /// <summary>A 0-d (scalar) tensor.</summary>
    public static Tensor Scalar(float value) => Full(value);

    /// <summary>Float32 tensor holding a copy of <paramref name="data"/> with the given shape (1-d when no shape is given).</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => FromSpan<float>(data, shape, DType.Float32);

    /// <summary>Int64 tensor (labels, indices) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(long[] data, params int[] shape) => FromSpan<long>(data, shape, DType.Int64);

    /// <summary>Int32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(int[] data, params int[] shape) => FromSpan<int>(data, shape, DType.Int32);

    static Tensor FromSpan<T>(T[] data, int[] shape, DType dtype) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        // No shape: 1-d, or 0-d for a single value (torch's num_batches_tracked is 0-d; a state_dict must match it).
        if (shape.Length == 0 && data.Length != 1) shape = [data.Length];
        var t = Empty(shape, dtype);
        if (t.Numel != data.Length)
            throw new ArgumentException($"FromArray: {data.Length} values do not fill shape {FormatShape(shape)} ({t.Numel} elements).", nameof(data));
        data.AsSpan().CopyTo(new Span<T>(t.RawPtr, data.Length));
        return t;
    }

    /// <summary>Standard-normal samples scaled by <paramref name="std"/>, from a seeded generator.</summary>
    public static Tensor Randn(Random rng, float std, params int[] shape)
    {
        var t = Empty(shape);
        var d = t.AsSpan();
        for (int i = 0; i < d.Length; i += 2)
        {
            // Box-Muller: two independent normals per pair of uniforms.
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            d[i] = (float)(std * r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < d.Length) d[i + 1] = (float)(std * r * Math.Sin(2 * Math.PI * u2));
        }
        return t;
    }

    /// <summary>Uniform samples in [lo, hi) from a seeded generator.</summary>
    public static Tensor Rand(Random rng, float lo, float hi, params int[] shape)
    {
        var t = Empty(shape);
        var d = t.AsSpan();
        for (int i = 0; i < d.Length; i++) d[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return t;
    }

    /// <summary>0, 1, ..., n-1 as float32.</summary>
    public static Tensor Arange(int n)
    {
        var t = Empty(n);
        var d = t.AsSpan();
        for (int i = 0; i < n; i++) d[i] = i;
        return t;
    }

    /// <summary>Starts a scope that disposes the tensors created in it (see <see cref="TensorScope"/>).</summary>
    public static TensorScope Scope() => new();

    /// <summary>Turns gradient recording off on this thread until disposed: <c>using var _ = Tensor.NoGrad();</c>.</summary>
    public static NoGradScope NoGrad() => new();

    /// <summary>True when this tensor is contiguous, starts at its storage's start, covers all of it, and is the storage's only view.</summary>
    internal bool IsExclusiveDense => _storage is { IsExclusive: true } s && IsContiguous && Offset == 0 && s.Bytes == Numel * DType.Size();

    /// <summary>Detaches this tensor from its scope so it outlives it (the caller disposes it).</summary>
    public Tensor Keep() { OwnerScope = null; return this; }

    // ---------------------------------------------------------------- data access

    /// <summary>Pointer to element [0,...,0] (any dtype).</summary>
    public void* RawPtr => (byte*)Storage.Pointer + Offset * DType.Size();

    /// <summary>As <see cref="RawPtr"/> for data a kernel only reads: does not bump the storage's WriteVersion (see Storage.ReadPointer).</summary>
    internal void* ReadRawPtr => (byte*)Storage.ReadPointer + Offset * DType.Size();

    /// <summary>As <see cref="DataPtr"/> for data a kernel only reads (see <see cref="ReadRawPtr"/>).</summary>
    internal float* ReadDataPtr => DType == DType.Float32 ? (float*)ReadRawPtr : throw new InvalidOperationException($"{Describe()}: expected a float32 tensor, got {DType}.");

    /// <summary>Pointer to element [0,...,0] of a float32 tensor.</summary>
    public float* DataPtr
    {
        get
        {
            if (DType != DType.Float32) throw new InvalidOperationException($"{Describe()}: expected a float32 tensor, got {DType}.");
            return (float*)RawPtr;
        }
    }

    /// <summary>The elements of a contiguous float32 tensor as a span.</summary>
    public Span<float> AsSpan()
    {
        if (!IsContiguous) throw new InvalidOperationException($"{Describe()} is not contiguous; call Contiguous() first.");
        return new Span<float>(DataPtr, checked((int)Numel));
    }

    /// <summary>Copies the elements (row-major, any layout, any device) into a new float array.</summary>
    public float[] ToArray()
    {
        if (!Device.IsCpu) { using var h = HostCopy(); return h.ToArray(); }
        using var c = Contiguous();
        return c.AsSpan().ToArray();
    }

    /// <summary>Copies an integer tensor's elements into a long array.</summary>
    public long[] ToInt64Array()
    {
        if (!Device.IsCpu) { using var h = HostCopy(); return h.ToInt64Array(); }
        using var c = Contiguous();
        var r = new long[c.Numel];
        for (long i = 0; i < r.Length; i++)
            r[i] = c.DType switch
            {
                DType.Int64 => ((long*)c.RawPtr)[i],
                DType.Int32 => ((int*)c.RawPtr)[i],
                _ => (long)((float*)c.RawPtr)[i],
            };
        return r;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item(): {Describe()} has {Numel} elements, expected exactly 1.");
        if (!Device.IsCpu) return ReadDeviceElement(0);
        return DType switch
        {
            DType.Float32 => *(float*)RawPtr,
            DType.Int32 => *(int*)RawPtr,
            _ => *(long*)RawPtr,
        };
    }

    /// <summary>Element at a multi-index (slow; for tests and debugging).</summary>
    [IndexerName("At")]
    public float this[params int[] index]
    {
        get
        {
            if (index.Length != Rank) throw new ArgumentException($"Index of rank {index.Length} for {Describe()}.");
            long o = 0;
            for (int d = 0; d < Rank; d++)
            {
                if ((uint)index[d] >= (uint)_shape[d]) throw new IndexOutOfRangeException($"Index {index[d]} out of range for dimension {d} of {Describe()}.");
                o += index[d] * StrideArray[d];
            }
            if (!Device.IsCpu) return ReadDeviceElement(o);
            return DType == DType.Float32 ? ((float*)RawPtr)[o] : DType == DType.Int32 ? ((int*)RawPtr)[o] : ((long*)RawPtr)[o];
        }
    }

    /// <summary>True when elements are laid out row-major without gaps (size-1 dims ignored).</summary>
    public bool IsContiguous
    {
        get
        {
            if (_strides is null) return true;
            long expect = 1;
            for (int d = Rank - 1; d >= 0; d--)
            {
                if (_shape[d] == 1) continue;
                if (_strides[d] != expect) return false;
                expect *= _shape[d];
            }
            return true;
        }
    }

    // ---------------------------------------------------------------- autograd fields

    /// <summary>Whether gradients flow to this tensor. Settable on leaves only.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn is not null && !value) throw new InvalidOperationException($"{Describe()} is the result of an op; use Detach() instead of clearing RequiresGrad.");
            if (value && DType != DType.Float32) throw new InvalidOperationException($"{Describe()}: only float32 tensors can require gradients.");
            _requiresGrad = value;
        }
    }

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward"/> (same shape).</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The op that produced this tensor, while its graph is alive.</summary>
    public GradFn? GradFn { get; internal set; }

    /// <summary>True for tensors not produced by a recorded op.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Computes gradients of this scalar (or of sum(this * <paramref name="gradient"/>)) with respect to every leaf that requires them, then frees the graph.</summary>
    public void Backward(Tensor? gradient = null) => BackwardPass.Run(this, gradient);

    internal void MarkRequiresGrad() => _requiresGrad = true;

    // ---------------------------------------------------------------- lifetime

    /// <summary>Releases this view's reference to the storage. Idempotent.</summary>
    public void Dispose()
    {
        var s = _storage;
        if (s is null) return;
        _storage = null;
        OwnerScope = null;
        // GradFn stays: a disposed intermediate may still be an edge of a live graph.
        s.Release();
    }

    // ---------------------------------------------------------------- helpers

    internal static long[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var st = new long[shape.Length];
        long acc = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { st[d] = acc; acc *= shape[d]; }
        return st;
    }

    static long CheckShape(int[] shape)
    {
        long n = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension.");
            n *= s;
        }
        if (n > int.MaxValue) throw new ArgumentException($"Shape {FormatShape(shape)} has {n:N0} elements; at most {int.MaxValue:N0} are supported per tensor.");
        return n;
    }

    internal int[] ShapeArray => _shape;
    internal long[] StrideArray => _strides ??= ContiguousStrides(_shape);   // a race makes two equal arrays: harmless

    /// <summary>"(2, 3, 4)".</summary>
    public static string FormatShape(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + (shape.Length == 1 ? ",)" : ")");

    /// <summary>Short description for error messages: name, shape, dtype.</summary>
    public string Describe() => Describe(Name, _shape, DType);

    /// <summary><see cref="Describe()"/> from captured values (deferred messages must not touch a tensor that may be disposed).</summary>
    internal static string Describe(string? name, ReadOnlySpan<int> shape, DType dtype) => $"tensor{(name is null ? "" : " '" + name + "'")} {FormatShape(shape)} {dtype}";

    /// <inheritdoc/>
    public override string ToString() => Describe();

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => _shape[NormDim(dim)];

    /// <summary>Normalises a possibly negative dimension index, with a clear error when out of range.</summary>
    public int NormDim(int dim, int? rank = null)
    {
        int r = rank ?? Rank;
        int d = dim < 0 ? dim + r : dim;
        if ((uint)d >= (uint)Math.Max(r, 1) || (r == 0 && d != 0))
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"Dimension {dim} is out of range for {Describe()} (rank {r}).");
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
