// "Precise BN": re-estimates the running statistics of every batch-norm layer as the plain average
// of the batch statistics over a few training batches, with the weights fixed. Why: the KWS models
// follow their Keras originals, whose batch norm keeps running averages with momentum 0.01 (decay
// 0.99), so after the few hundred steps of a short run the running statistics are still mostly
// their initial values (mean 0, variance 1) and eval-mode outputs are meaningless - validation
// accuracy then says nothing about the weights. Averaging fresh batch statistics removes that lag.
// How: the layers' own forward pass computes the statistics; each running buffer is zeroed before
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
    public static unsafe int Recalibrate(Module model, IEnumerable<Tensor> batches, Func<Tensor, Tensor> forward)
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
        var tracked = layers.Select(bn => ((long*)bn.NumBatchesTracked.RawPtr)[0]).ToArray();
        var meanSum = layers.Select(bn => new double[bn.RunningMean.Numel]).ToArray();
        var varSum = layers.Select(bn => new double[bn.RunningVar.Numel]).ToArray();
        var saved = layers.Select(bn => (bn.RunningMean.ToArray(), bn.RunningVar.ToArray())).ToArray();
        int count = 0;
        try
        {
            model.Train();
            foreach (var x in batches)
            {
                foreach (var bn in layers) { bn.RunningMean.AsSpan().Clear(); bn.RunningVar.AsSpan().Clear(); }
                using (Tensor.NoGrad())
                using (Tensor.Scope())
                    forward(x);
                for (int l = 0; l < layers.Length; l++)
                {
                    double inv = 1.0 / layers[l].Momentum;
                    var m = layers[l].RunningMean.AsSpan();
                    var v = layers[l].RunningVar.AsSpan();
                    for (int c = 0; c < m.Length; c++) { meanSum[l][c] += m[c] * inv; varSum[l][c] += v[c] * inv; }
                }
                count++;
            }
        }
        finally
        {
            for (int l = 0; l < layers.Length; l++)
            {
                var m = layers[l].RunningMean.AsSpan();
                var v = layers[l].RunningVar.AsSpan();
                for (int c = 0; c < m.Length; c++)
                {
                    m[c] = count > 0 ? (float)(meanSum[l][c] / count) : saved[l].Item1[c];
                    v[c] = count > 0 ? (float)(varSum[l][c] / count) : saved[l].Item2[c];
                }
                ((long*)layers[l].NumBatchesTracked.RawPtr)[0] = tracked[l];
            }
            model.Train(wasTraining);
        }
        return count;
    }
}
