// Views (no copy: reshape of contiguous data, permute, slice, expand, unfold, squeeze) and
// copies (Contiguous, Clone, CopyTo). Each view records its backward rule like any op.
using Cochlea.Autograd;

namespace Cochlea;

public sealed unsafe partial class Tensor
{
    Tensor MakeView(int[] shape, long[]? strides, long offset)   // strides null: contiguous
    {
        var s = Storage;
        s.AddRef();
        return new Tensor(s, shape, strides, offset, DType);
    }

    /// <summary>A new tensor object over the same elements (same shape and strides), outside the graph.</summary>
    public Tensor Alias() => MakeView(_shape, _strides, Offset);

    /// <summary>The same data cut from the graph: no gradient flows through the result.</summary>
    public Tensor Detach() => Alias();

    /// <summary>Contiguous tensor with the same values: a view when already contiguous, else a copy.</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous)
        {
            var v = MakeView(_shape, null, Offset);
            return BackwardPass.Record(v, "contiguous", [this], g => [g]);
        }
        return Clone();
    }

    /// <summary>Contiguous alias or copy for a kernel's input, never recorded in the graph.</summary>
    internal Tensor ContiguousRaw()
    {
        if (IsContiguous) return MakeView(_shape, null, Offset);
        var y = Empty(_shape, DType, Device);
        CopyElements(this, y);
        return y;
    }

    /// <summary>A contiguous copy that owns its memory.</summary>
    public Tensor Clone()
    {
        var y = Empty(_shape, DType, Device);
        CopyElements(this, y);
        return BackwardPass.Record(y, "clone", [this], g => [g]);
    }

    /// <summary>Copies this tensor's values into <paramref name="dst"/> (same shape; broadcasting not applied; any devices). Not recorded.</summary>
    public void CopyTo(Tensor dst)
    {
        if (!SameShape(_shape, dst._shape) || dst.DType != DType)
            throw new ArgumentException($"CopyTo: source {Describe()} and destination {dst.Describe()} differ in shape or dtype.");
        CopyElements(this, dst);
    }

    /// <summary>
    /// Copies the tensor to <paramref name="device"/>, contiguous; on the same device, a view of the same elements
    /// (no copy). Recorded either way, as torch's .to(): the gradient flows back with <c>g.To(sourceDevice)</c>.
    /// </summary>
    /// <exception cref="Cochlea.Cuda.CudaException">The target is a CUDA device and CUDA is unavailable (the message says why).</exception>
    public Tensor To(Device device)
    {
        if (device == Device) return BackwardPass.Record(Alias(), "to", [this], g => [g]);
        var y = Empty(_shape, DType, device);
        CopyElements(this, y);
        var from = Device;
        return BackwardPass.Record(y, "to", [this], g => [g.To(from)]);
    }

    /// <summary>Same elements with a new shape (one dim may be -1). A view when contiguous, otherwise a copy.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var s = InferShape(shape);
        if (IsContiguous)
        {
            var v = MakeView(s, null, Offset);
            var orig = _shape;
            return BackwardPass.Record(v, "reshape", [this], g => [g.Reshape(orig)]);
        }
        // Not contiguous: copy into the new shape directly (walking the source in its own shape).
        var y = Empty(s, DType, Device);
        using (var asShape = y.MakeView(_shape, null, 0)) CopyElements(this, asShape);
        var from = _shape;
        return BackwardPass.Record(y, "reshape", [this], g => [g.Reshape(from)]);
    }

    int[] InferShape(int[] shape)
    {
        var s = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"Reshape: only one dimension may be -1 in {FormatShape(shape)}.");
                infer = i;
            }
            else if (s[i] < 0) throw new ArgumentException($"Reshape: invalid size {s[i]} in {FormatShape(shape)}.");
            else known *= s[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0) throw new ArgumentException($"Reshape: cannot reshape {Describe()} into {FormatShape(shape)}.");
            s[infer] = (int)(Numel / known);
        }
        else if (known != Numel) throw new ArgumentException($"Reshape: {Describe()} has {Numel} elements, {FormatShape(shape)} needs {known}.");
        return s;
    }

    /// <summary>Flattens dimensions <paramref name="start"/>..<paramref name="end"/> into one.</summary>
    public Tensor Flatten(int start = 0, int end = -1)
    {
        int a = NormDim(start), b = NormDim(end);
        var s = new List<int>();
        for (int d = 0; d < a; d++) s.Add(_shape[d]);
        int m = 1;
        for (int d = a; d <= b; d++) m *= _shape[d];
        s.Add(m);
        for (int d = b + 1; d < Rank; d++) s.Add(_shape[d]);
        return Reshape(s.ToArray());
    }

    /// <summary>Reorders dimensions: result dim i is this tensor's dim <paramref name="dims"/>[i].</summary>
    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Rank) throw new ArgumentException($"Permute: {dims.Length} dims given for {Describe()}.");
        // Plain loops: permutes run per step (RNN time-major layouts), and LINQ here was a dozen objects each.
        int r = Rank;
        var p = new int[r];
        for (int i = 0; i < r; i++) p[i] = NormDim(dims[i]);
        var inv = new int[r];
        inv.AsSpan().Fill(-1);
        for (int i = 0; i < r; i++)
        {
            if (inv[p[i]] >= 0) throw new ArgumentException($"Permute: dims {FormatShape(dims)} are not a permutation.");
            inv[p[i]] = i;
        }
        var strides = StrideArray;
        var shape = new int[r];
        var st = new long[r];
        for (int i = 0; i < r; i++) { shape[i] = _shape[p[i]]; st[i] = strides[p[i]]; }
        var v = MakeView(shape, st, Offset);
        return BackwardPass.Record(v, "permute", [this], g => [g.Permute(inv)]);
    }

    /// <summary>Swaps two dimensions (a view).</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        var p = Enumerable.Range(0, Rank).ToArray();
        int a = NormDim(dim0), b = NormDim(dim1);
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(p);
    }

    /// <summary>Elements start, start+step, ... &lt; end along <paramref name="dim"/> (a view). Negative start/end count from the end.</summary>
    public Tensor Slice(int dim, int start, int end, int step = 1)
    {
        int d = NormDim(dim);
        int n = _shape[d];
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, "Slice step must be positive.");
        if (start < 0) start += n;
        if (end < 0) end += n;
        start = Math.Clamp(start, 0, n);
        end = Math.Clamp(end, start, n);
        int len = (end - start + step - 1) / step;
        var shape = (int[])_shape.Clone(); shape[d] = len;
        var strides = (long[])StrideArray.Clone(); strides[d] *= step;
        var v = MakeView(shape, strides, Offset + start * StrideArray[d]);
        var inShape = _shape;
        int s0 = start, st = step;
        return BackwardPass.Record(v, "slice", [this], g =>
        {
            var dx = Zeros(g.Device, inShape);
            using (var region = dx.Slice(d, s0, s0 + (len - 1) * st + 1, st)) g.CopyTo(region);
            return [dx];
        });
    }

    /// <summary>Broadcasts size-1 dimensions (and new leading ones) to <paramref name="shape"/> without copying; -1 keeps a size.</summary>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < Rank) throw new ArgumentException($"Expand: target {FormatShape(shape)} has fewer dims than {Describe()}.");
        var s = new int[shape.Length];
        var st = new long[shape.Length];
        int lead = shape.Length - Rank;
        for (int i = 0; i < shape.Length; i++)
        {
            int src = i - lead;
            int have = src >= 0 ? _shape[src] : 1;
            int want = shape[i] == -1 ? have : shape[i];
            if (have == want) { s[i] = want; st[i] = src >= 0 ? StrideArray[src] : 0; }
            else if (have == 1) { s[i] = want; st[i] = 0; }
            else throw new ArgumentException($"Expand: cannot broadcast {Describe()} to {FormatShape(shape)} (dimension {i}).");
        }
        var v = MakeView(s, st, Offset);
        var inShape = _shape;
        return BackwardPass.Record(v, "expand", [this], g => [Ops.SumTo(g, inShape)]);
    }

    /// <summary>Sliding windows of <paramref name="size"/> every <paramref name="step"/> along <paramref name="dim"/>, as a new last dimension (a view, like torch's unfold).</summary>
    public Tensor Unfold(int dim, int size, int step)
    {
        int d = NormDim(dim);
        if (size <= 0 || step <= 0) throw new ArgumentException($"Unfold: size ({size}) and step ({step}) must be positive.");
        if (size > _shape[d]) throw new ArgumentException($"Unfold: window {size} is longer than dimension {d} of {Describe()}.");
        int count = (_shape[d] - size) / step + 1;
        var shape = _shape.Append(size).ToArray(); shape[d] = count;
        var strides = StrideArray.Append(StrideArray[d]).ToArray(); strides[d] = StrideArray[d] * step;
        var v = MakeView(shape, strides, Offset);
        var inShape = _shape;
        return BackwardPass.Record(v, "unfold", [this], g =>
        {
            var dx = Zeros(g.Device, inShape);
            using var windows = dx.Unfold(d, size, step);
            if (g.Device.IsCpu)
            {
                StridedCopy.Copy((byte*)g.RawPtr, g.StrideArray, (byte*)windows.RawPtr, windows.StrideArray, g._shape, 4, accumulate: true);
                return [dx];
            }
            // CUDA: overlapping windows must not add into one element at once. Windows r, r + m, r + 2m, ...
            // (m = ceil(size / step)) are disjoint, so each such group is one elementwise add and a strided copy.
            int m = (size + step - 1) / step;
            for (int r = 0; r < Math.Min(m, count); r++)
            {
                using var region = windows.Slice(d, r, count, m);
                using var part = g.Slice(d, r, count, m);
                using var sum = Ops.Add(region, part);
                sum.CopyTo(region);
            }
            return [dx];
        });
    }

    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/>.</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = dim < 0 ? dim + Rank + 1 : dim;
        if ((uint)d > (uint)Rank) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"Unsqueeze: dimension out of range for {Describe()}.");
        var s = _shape.ToList(); s.Insert(d, 1);
        return Reshape(s.ToArray());
    }

    /// <summary>Removes dimension <paramref name="dim"/> (must have size 1), or all size-1 dims when null.</summary>
    public Tensor Squeeze(int? dim = null)
    {
        if (dim is null) return Reshape(_shape.Where(x => x != 1).ToArray());
        int d = NormDim(dim.Value);
        if (_shape[d] != 1) throw new ArgumentException($"Squeeze: dimension {d} of {Describe()} has size {_shape[d]}, not 1.");
        var s = _shape.ToList(); s.RemoveAt(d);
        return Reshape(s.ToArray());
    }
}
