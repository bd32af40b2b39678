// A training step's loss and number of correct predictions, read back one step late on a GPU.
// Why: reading step k's loss right after enqueuing it makes the host wait for step k at the end of every step, so the
// GPU sits idle while the host prepares step k+1. Here step k's numbers are computed on the device (argmax == label,
// summed there, so 2 floats come back instead of B x classes logits), packed into one tensor whose copy to the host is
// queued at step k's end (Tensor.ReadLater), and read after step k+1 is enqueued: that read waits for step k only, so
// the GPU has step k+1 to run while the host prepares step k+2. On the CPU there is no queue: each step is read at once.
using Cochlea.Cuda;

namespace Cochlea.Models.Training;

/// <summary>One training step's numbers as read back: its 1-based <paramref name="Step"/>, rows <paramref name="Size"/>,
/// mean <paramref name="Loss"/> and <paramref name="Correct"/> rows whose first maximal logit is the label.</summary>
public readonly record struct StepStats(int Step, int Size, float Loss, int Correct);

/// <summary>
/// Reads each step's (loss, correct count) one step late on CUDA and at once on the CPU (<see cref="Lag"/>). Push every
/// step after its optimizer update, handle what <see cref="Push"/> returns, and after the epoch's last step what
/// <see cref="Finish"/> returns. Dispose frees a step pushed but not read (an exception mid-epoch).
/// </summary>
public sealed class LaggedStepStats : IDisposable
{
    readonly Device _device;
    readonly int _classes;
    readonly Queue<(int Step, int Size, PendingArray Read)> _pending = new();
    Tensor? _classIds;   // (rows, classes) float, row r = 0..classes-1: turns int64 class indices into floats by gather

    /// <summary>For logits of <paramref name="classes"/> columns on <paramref name="device"/>.</summary>
    public LaggedStepStats(Device device, int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "the logits need at least 1 class column.");
        _device = device;
        _classes = classes;
        Lag = device.IsCpu ? 0 : 1;
    }

    /// <summary>Steps between a step's push and its read: 0 on the CPU, 1 on CUDA.</summary>
    public int Lag { get; }

    /// <summary>
    /// Queues step <paramref name="step"/>'s numbers: mean <paramref name="loss"/> (a one-element tensor), <paramref name="logits"/>
    /// (B, classes) and int64 <paramref name="labels"/> (B), all on the device. Returns the step read now: this one on the
    /// CPU; on CUDA the previous one (null for the epoch's first step).
    /// </summary>
    public StepStats? Push(int step, Tensor loss, Tensor logits, Tensor labels)
    {
        int rows = logits.Rank == 2 ? logits.Shape[0] : -1;
        if (rows < 0 || logits.Shape[1] != _classes)
            throw new ArgumentException($"step stats: logits must be (B, {_classes}), got {logits.Describe()}.");
        if (labels.Rank != 1 || labels.Shape[0] != rows)
            throw new ArgumentException($"step stats: labels must be ({rows},) to match the logits {logits.Describe()}, got {labels.Describe()}.");
        if (loss.Numel != 1) throw new ArgumentException($"step stats: the loss must have one element, got {loss.Describe()}.");
        if (logits.Device != _device || labels.Device != _device || loss.Device != _device)
            throw new ArgumentException($"step stats: loss, logits and labels must be on {_device}, got {loss.Device}, {logits.Device}, {labels.Device}.");
        using (var pack = Pack(loss, logits, labels)) _pending.Enqueue((step, rows, pack.ReadLater()));
        return _pending.Count > Lag ? Read() : null;
    }

    /// <summary>The step still queued after the epoch's last push (null on the CPU, or when nothing was pushed).</summary>
    public StepStats? Finish() => _pending.Count > 0 ? Read() : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        while (_pending.Count > 0) _pending.Dequeue().Read.Dispose();
        _classIds?.Dispose();
        _classIds = null;
    }

    StepStats Read()
    {
        var (step, size, read) = _pending.Dequeue();
        using (read)
        {
            var v = read.Wait();   // [loss, wrong rows]: copied when the step was pushed; waits for that step only
            // A label out of range makes the loss NaN too, and its device-side check is reported only at a synchronisation:
            // synchronise now, so the caller sees that error (naming the label) rather than "the loss became NaN".
            if (!float.IsFinite(v[0]) && !_device.IsCpu) CudaBackend.Get(_device.Index).Synchronize();
            return new StepStats(step, size, v[0], size - (int)v[1]);
        }
    }

    // (2,) = [loss, rows whose argmax != label], out of this scope for the caller to queue its copy; the temporaries are freed here.
    // argmax takes the first maximal logit, as KwsTta.ArgMax and TaggingMetrics.Rank == 1 do (NaN logits differ, but
    // they make the loss NaN and the trainers stop on that).
    Tensor Pack(Tensor loss, Tensor logits, Tensor labels)
    {
        int rows = logits.Shape[0];
        using var scope = Tensor.Scope();
        using var _ = Tensor.NoGrad();
        var ids = ClassIds(rows);
        var (_, argmax) = Ops.MaxWithIndex(logits, 1, keepDim: true);                   // (B, 1) int64
        var predicted = Ops.Gather(ids, 1, argmax);                                     // (B, 1) float
        var label = Ops.Gather(ids, 1, labels.Reshape(rows, 1));                        // (B, 1) float
        var wrong = Ops.Sum(Ops.Clamp(Ops.Abs(predicted - label), 0, 1)).Reshape(1);   // exact: integers < 2^24
        return Ops.Concat([loss.Reshape(1), wrong], 0).Keep();
    }

    Tensor ClassIds(int rows)
    {
        if (_classIds is not null && _classIds.Shape[0] >= rows) return _classIds;
        _classIds?.Dispose();
        var ids = new float[rows * _classes];
        for (int i = 0; i < ids.Length; i++) ids[i] = i % _classes;
        using (TensorScope.Suspend())
        {
            var host = Tensor.FromArray(ids, rows, _classes);
            if (_device.IsCpu) return _classIds = host;
            _classIds = host.To(_device);
            host.Dispose();
        }
        return _classIds;
    }
}
