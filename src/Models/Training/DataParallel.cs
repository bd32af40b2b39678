// Data-parallel replicas (the DeepSpeech document's "towers"): N copies of the model, each on its
// own thread, compute gradients on their slice of the batch; the gradients are averaged into the
// master copy before the optimizer step, and the updated weights are copied back to the replicas.
// With equal slices and a per-slice mean loss, the averaged gradient is the gradient of the mean
// loss over the whole batch, so N replicas make the same update as one (up to float rounding).
using Cochlea.Nn;

namespace Cochlea.Models.Training;

/// <summary>Runs a training step on <see cref="Count"/> model replicas in parallel and averages their gradients into <see cref="Master"/>.</summary>
public sealed class DataParallel<TModel> : IDisposable where TModel : Module
{
    readonly TModel[] _replicas;

    /// <summary>The copy the optimizer updates (replica 0).</summary>
    public TModel Master => _replicas[0];

    /// <summary>All replicas; [0] is <see cref="Master"/>.</summary>
    public IReadOnlyList<TModel> Replicas => _replicas;

    /// <summary>Number of replicas.</summary>
    public int Count => _replicas.Length;

    /// <summary>Builds <paramref name="replicas"/> models with <paramref name="factory"/> and gives them the master's weights.</summary>
    public DataParallel(Func<TModel> factory, int replicas)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (replicas < 1) throw new ArgumentOutOfRangeException(nameof(replicas), replicas, "DataParallel: at least one replica is needed.");
        _replicas = new TModel[replicas];
        for (int i = 0; i < replicas; i++) _replicas[i] = factory();
        RequireCpu();
        Broadcast();
    }

    /// <summary>
    /// One step's gradients: <paramref name="lossOfSlice"/>(model, replica) returns replica r's scalar mean loss on slice r of
    /// the batch (slices must be equal-sized for the average to equal the full-batch gradient). Each runs on its own thread
    /// inside its own Tensor.Scope; afterwards the master's .Grad holds the average. Returns the mean of the replica losses.
    /// </summary>
    public float ComputeGradients(Func<TModel, int, Tensor> lossOfSlice)
    {
        ArgumentNullException.ThrowIfNull(lossOfSlice);
        RequireCpu();
        var losses = new float[Count];
        var errors = new Exception?[Count];
        foreach (var m in _replicas) m.ZeroGrad();
        var threads = Enumerable.Range(0, Count).Select(r => new Thread(() =>
        {
            try
            {
                using var scope = Tensor.Scope();   // scopes are per thread: each replica frees its own temporaries
                var loss = lossOfSlice(_replicas[r], r);
                if (loss.Numel != 1) throw new InvalidOperationException($"replica {r}: the loss must be a scalar, got {loss.Describe()}.");
                loss.Backward();
                losses[r] = loss.Item();
            }
            catch (Exception e) { errors[r] = e; }
        }) { IsBackground = true, Name = $"cochlea-replica-{r}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        for (int r = 0; r < Count; r++)
            if (errors[r] is { } e) throw new AggregateException($"DataParallel: replica {r} failed: {e.Message}", e);
        AverageGradientsIntoMaster();
        return losses.Average();
    }

    /// <summary>Copies the master's parameters and buffers into every other replica (call after the optimizer step).</summary>
    public void Broadcast()
    {
        var state = Master.StateDict();
        for (int r = 1; r < Count; r++)
        {
            var target = _replicas[r].StateDict();
            foreach (var (name, t) in state) t.CopyTo(target[name]);
        }
    }

    unsafe void AverageGradientsIntoMaster()
    {
        var master = Master.NamedParameters().ToList();
        var others = _replicas.Skip(1).Select(m => m.NamedParameters().Select(p => p.Tensor).ToList()).ToList();
        float scale = 1f / Count;
        for (int i = 0; i < master.Count; i++)
        {
            var p = master[i].Tensor;
            var grads = new List<Tensor>();
            if (p.Grad is not null) grads.Add(p.Grad);
            foreach (var o in others) if (o[i].Grad is not null) grads.Add(o[i].Grad!);
            if (grads.Count == 0) continue;
            if (p.Grad is null) using (TensorScope.Suspend()) p.Grad = Tensor.Zeros(p.Shape.ToArray());
            // Fixed order (replica 0, 1, ...) so the average does not depend on thread timing.
            var dst = p.Grad!.AsSpan();
            for (int r = 1; r <= others.Count; r++)
            {
                var g = others[r - 1][i].Grad;
                if (g is null) continue;
                var src = g.AsSpan();
                for (int k = 0; k < dst.Length; k++) dst[k] += src[k];
            }
            for (int k = 0; k < dst.Length; k++) dst[k] *= scale;
        }
    }

    // The gradient average reads and writes host memory, and the replicas share one GPU's stream badly: CPU replicas only.
    void RequireCpu()
    {
        for (int r = 0; r < Count; r++)
            foreach (var (name, t) in _replicas[r].StateDict())
                if (!t.Device.IsCpu)
                    throw new NotSupportedException($"DataParallel: replica {r}'s '{name}' is on {t.Device}; replicas run on the CPU only "
                        + "(for a GPU, train one model with a larger batch on it instead).");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var m in _replicas) m.Dispose();
    }
}
