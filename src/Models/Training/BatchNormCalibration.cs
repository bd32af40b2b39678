// "Precise BN": re-estimates the running statistics of every batch-norm layer as the plain average
// of the batch statistics over a few training batches, with the weights fixed. Why: the KWS models
// follow their Keras originals, whose batch norm keeps running averages with momentum 0.01 (decay
// 0.99), so after the few hundred steps of a short run the running statistics are still mostly
// their initial values (mean 0, variance 1) and eval-mode outputs are meaningless - validation
// accuracy then says nothing about the weights. Averaging fresh batch statistics removes that lag.
// How (on any device: buffers are read and written through host copies): the layers' own forward pass computes the statistics; each running buffer is zeroed before
// a batch, so afterwards it holds momentum * (batch statistic), which is divided back out.
using Cochlea.Nn;

namespace Cochlea.Models.Training;

/// <summary>Re-estimates batch-norm running statistics from data.</summary>
public static class BatchNormCalibration
{
    /// <summary>
    /// Sets running_mean and running_var of every <see cref="BatchNorm"/> in <paramref name="model"/> to the mean over
    /// <paramref name="batches"/> of each batch's mean and unbiased variance, computed by <paramref name="forward"/> in training
    /// mode without gradients. num_batches_tracked and the model's mode are restored. Returns the number of batches used
    /// (0 leaves the statistics unchanged). Batches are disposed by the caller; tensors made by the forward pass are freed per batch.
    /// </summary>
    public static int Recalibrate(Module model, IEnumerable<Tensor> batches, Func<Tensor, Tensor> forward)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(forward);
        var layers = model.NamedModules().Select(m => m.Module).OfType<BatchNorm>().Distinct().ToArray();
        if (layers.Length == 0) return 0;
        foreach (var bn in layers)
            if (!(bn.Momentum > 0))
                throw new InvalidOperationException($"BatchNormCalibration: a batch norm with momentum {bn.Momentum} never updates its running statistics.");
        bool wasTraining = model.IsTraining;
        // Every read and write goes through ToArray/ToInt64Array/CopyTo, which copy to and from the buffers' device,
        // so the layers may live on the CPU or on a GPU (a few hundred floats per layer and batch cross the bus).
        var tracked = layers.Select(bn => bn.NumBatchesTracked.ToInt64Array()).ToArray();
        var meanSum = layers.Select(bn => new double[bn.RunningMean.Numel]).ToArray();
        var varSum = layers.Select(bn => new double[bn.RunningVar.Numel]).ToArray();
        var saved = layers.Select(bn => (bn.RunningMean.ToArray(), bn.RunningVar.ToArray())).ToArray();
        int count = 0;
        try
        {
            model.Train();
            foreach (var x in batches)
            {
                foreach (var bn in layers) { Write(bn.RunningMean, new float[bn.RunningMean.Numel]); Write(bn.RunningVar, new float[bn.RunningVar.Numel]); }
                using (Tensor.NoGrad())
                using (Tensor.Scope())
                    forward(x);
                for (int l = 0; l < layers.Length; l++)
                {
                    double inv = 1.0 / layers[l].Momentum;
                    var m = layers[l].RunningMean.ToArray();
                    var v = layers[l].RunningVar.ToArray();
                    for (int c = 0; c < m.Length; c++) { meanSum[l][c] += m[c] * inv; varSum[l][c] += v[c] * inv; }
                }
                count++;
            }
        }
        finally
        {
            for (int l = 0; l < layers.Length; l++)
            {
                var m = saved[l].Item1;
                var v = saved[l].Item2;
                if (count > 0)
                    for (int c = 0; c < m.Length; c++) { m[c] = (float)(meanSum[l][c] / count); v[c] = (float)(varSum[l][c] / count); }
                Write(layers[l].RunningMean, m);
                Write(layers[l].RunningVar, v);
                using (var t = Tensor.FromArray(tracked[l], layers[l].NumBatchesTracked.Shape.ToArray())) t.CopyTo(layers[l].NumBatchesTracked);
            }
            model.Train(wasTraining);
        }
        return count;
    }

    // dst (a buffer on any device) = values.
    static void Write(Tensor dst, float[] values)
    {
        using var host = Tensor.FromArray(values, dst.Shape.ToArray());
        host.CopyTo(dst);
    }
}
