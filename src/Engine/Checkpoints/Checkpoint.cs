// Training checkpoints: one safetensors file holding the model's state_dict under its PyTorch
// names (float32, so torch loads it directly), the optimizer's state under the reserved
// prefix "optimizer.state.", and training metadata in "__metadata__". Saved atomically
// (temp file + rename), loaded strictly: everything is validated before anything changes.
//
// File layout:
//   <model names>                      the model's parameters and persistent buffers ("0.weight", "bn.running_mean")
//   optimizer.state.{i}.{slot}         float32, shape of parameter i ("optimizer.state.0.exp_avg")
//   optimizer.state.{i}.step           int64 scalar: updates applied to parameter i (absent when 0)
//   __metadata__: format=pt, cochlea.checkpoint=1, optimizer.type, optimizer.lr, optimizer.step_count,
//                 optimizer.num_params, optimizer.hyperparameters (JSON, informational), and the caller's extra keys.
using System.Globalization;
using System.Text.Json;
using Cochlea.IO;
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Checkpoints;

/// <summary>Saves and restores a model, its optimizer and training metadata in one safetensors file.</summary>
/// <example><code>
/// Checkpoint.Save(model, opt, "run/last.safetensors", new Dictionary&lt;string, string&gt; { ["epoch"] = "3" });
/// var meta = Checkpoint.Load(model, opt, "run/last.safetensors");   // meta["epoch"] == "3"
/// </code>
/// In PyTorch: <c>sd = safetensors.torch.load_file(path); model.load_state_dict({k: v for k, v in sd.items() if not k.startswith("optimizer.")})</c>.
/// </example>
public static class Checkpoint
{
    /// <summary>Prefix of every optimizer tensor and metadata key; model names must not start with it.</summary>
    public const string OptimizerPrefix = "optimizer.";

    const string StatePrefix = "optimizer.state.";
    const string FormatVersion = "1";

    /// <summary>
    /// Writes <paramref name="model"/>'s state_dict, <paramref name="optimizer"/>'s state (when given) and the
    /// <paramref name="extra"/> metadata (epoch, step, serialised RNG state, ...) to <paramref name="path"/>, atomically.
    /// Creates the directory if needed.
    /// </summary>
    /// <exception cref="ArgumentException">A model name starts with "optimizer.", or an extra key is reserved ("format", "cochlea.*", "optimizer.*").</exception>
    public static void Save(Module model, Optimizer? optimizer, string path, IReadOnlyDictionary<string, string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var w = new SafeTensorsWriter();
        w.AddMetadata("format", "pt");  // what safetensors.torch expects
        w.AddMetadata("cochlea.checkpoint", FormatVersion);
        foreach (var (name, t) in model.StateDict())
        {
            if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                throw new ArgumentException($"Checkpoint.Save: model tensor '{name}' starts with the reserved prefix '{OptimizerPrefix}'; rename the child module.", nameof(model));
            AddTensor(w, name, t);
        }
        if (optimizer is not null)
        {
            var st = optimizer.StateDict();
            foreach (var (key, t) in st.Tensors) AddTensor(w, StatePrefix + key, t);
            for (int i = 0; i < st.ParameterSteps.Count; i++)
                if (st.ParameterSteps[i] > 0) w.AddInt64($"{StatePrefix}{i}.step", [st.ParameterSteps[i]]);
            w.AddMetadata("optimizer.type", st.Type);
            w.AddMetadata("optimizer.lr", st.LearningRate.ToString("R", CultureInfo.InvariantCulture));
            w.AddMetadata("optimizer.step_count", st.StepCount.ToString(CultureInfo.InvariantCulture));
            w.AddMetadata("optimizer.num_params", st.ParameterSteps.Count.ToString(CultureInfo.InvariantCulture));
            w.AddMetadata("optimizer.hyperparameters", HyperJson(st.Hyperparameters));
        }
        if (extra is not null)
            foreach (var (k, v) in extra)
            {
                if (IsReserved(k)) throw new ArgumentException($"Checkpoint.Save: metadata key '{k}' is reserved (\"format\", \"cochlea.*\" and \"optimizer.*\" are written by Checkpoint).", nameof(extra));
                w.AddMetadata(k, v ?? throw new ArgumentException($"Checkpoint.Save: metadata '{k}' is null.", nameof(extra)));
            }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        w.Save(path);
    }

    // {"lr":0.001,"betas.0":0.9,...}: the values are floats widened to double; written as floats so they read as typed.
    static string HyperJson(IReadOnlyDictionary<string, double> hyper)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms))
        {
            j.WriteStartObject();
            foreach (var (k, v) in hyper) j.WriteNumber(k, (float)v);
            j.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    static bool IsReserved(string key) =>
        key == "format" || key.StartsWith("cochlea.", StringComparison.Ordinal) || key.StartsWith(OptimizerPrefix, StringComparison.Ordinal);

    static unsafe void AddTensor(SafeTensorsWriter w, string name, Tensor t)
    {
        using var c = t.Device.IsCpu ? t.ContiguousRaw() : t.HostCopy(); // CUDA tensors are saved from a host copy
        var shape = Array.ConvertAll(t.ShapeArray, d => (long)d);
        int n = checked((int)c.Numel);
        switch (c.DType)
        {
            case DType.Float32: w.AddFloat32(name, new ReadOnlySpan<float>(c.RawPtr, n), shape); break;
            case DType.Int64: w.AddInt64(name, new ReadOnlySpan<long>(c.RawPtr, n), shape); break;
            case DType.Int32: w.AddInt32(name, new ReadOnlySpan<int>(c.RawPtr, n), shape); break;
            default: throw new NotSupportedException($"Checkpoint.Save: tensor '{name}' has dtype {c.DType}, which checkpoints do not store.");
        }
    }

    /// <summary>
    /// Restores <paramref name="model"/> (and <paramref name="optimizer"/>, when given) from <paramref name="path"/> and
    /// returns the caller's metadata (the extra keys given to Save). With <paramref name="strict"/>, the model's names
    /// must match exactly and an optimizer requires optimizer state in the file. Float tensors of any float dtype
    /// (F16, BF16, F64) are converted to float32. Optimizer state in the file is ignored when no optimizer is given.
    /// Everything is validated before anything is changed.
    /// </summary>
    /// <exception cref="StateDictMismatchException">Missing/unexpected model keys (strict) or shape mismatches; names each.</exception>
    /// <exception cref="ArgumentException">Optimizer state that does not fit the optimizer (type, count, shapes).</exception>
    /// <exception cref="SafeTensorsException">A missing, truncated or malformed file.</exception>
    public static IReadOnlyDictionary<string, string> Load(Module model, Optimizer? optimizer, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var f = SafeTensorsFile.Open(path);
        using var scope = Tensor.Scope();  // frees the optimizer state read from the file once copied
        var own = model.StateDict();
        var modelKeys = f.Names.Where(n => !n.StartsWith(OptimizerPrefix, StringComparison.Ordinal));
        var plan = model.Match(own, modelKeys, name => Describe(f.GetInfo(name), own.TryGetValue(name, out var t) ? t.DType : DType.Float32), strict);

        if (optimizer is not null)
        {
            var state = ReadOptimizerState(f, optimizer, strict);
            if (state is not null) optimizer.LoadState(state);  // validates fully before changing the optimizer
        }
        foreach (var name in plan.Matched) ReadInto(f, name, own[name]);

        return f.Metadata.Where(kv => !IsReserved(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    // What a file tensor becomes when loaded: floats as float32, integers as the target's integer dtype.
    static (long[] Shape, DType DType) Describe(SafeTensorInfo info, DType target) =>
        (info.Shape, info.DType.IsFloatingPoint() ? DType.Float32 : target == DType.Int32 ? DType.Int32 : DType.Int64);

    static unsafe void ReadInto(SafeTensorsFile f, string name, Tensor dst)
    {
        if (!dst.Device.IsCpu)
        {
            // Read on the host, then one copy to the device.
            using var host = Tensor.Empty(dst.ShapeArray, dst.DType);
            ReadInto(f, name, host);
            host.CopyTo(dst);
            return;
        }
        int n = checked((int)dst.Numel);
        if (!dst.IsContiguous) throw new InvalidOperationException($"Checkpoint.Load: '{name}' ({dst.Describe()}) is not contiguous.");
        switch (dst.DType)
        {
            case DType.Float32: f.ReadFloat32(name, new Span<float>(dst.RawPtr, n)); break;
            case DType.Int64: f.ReadInt64(name).CopyTo(new Span<long>(dst.RawPtr, n)); break;
            case DType.Int32: f.ReadInt32(name).CopyTo(new Span<int>(dst.RawPtr, n)); break;
            default: throw new NotSupportedException($"Checkpoint.Load: '{name}' has dtype {dst.DType}.");
        }
    }

    static OptimizerState? ReadOptimizerState(SafeTensorsFile f, Optimizer optimizer, bool strict)
    {
        var meta = f.Metadata;
        if (!meta.TryGetValue("optimizer.type", out var type))
        {
            if (strict) throw new ArgumentException($"Checkpoint.Load: {f.Path} holds no optimizer state (saved with optimizer: null); pass optimizer: null or strict: false.", nameof(optimizer));
            return null;
        }
        string Meta(string key) => meta.TryGetValue(key, out var v) ? v
            : throw new SafeTensorsException(f.Path, $"checkpoint metadata lacks '{key}' (written by Checkpoint.Save with an optimizer).");
        float lr = float.Parse(Meta("optimizer.lr"), CultureInfo.InvariantCulture);
        long stepCount = long.Parse(Meta("optimizer.step_count"), CultureInfo.InvariantCulture);
        int count = int.Parse(Meta("optimizer.num_params"), CultureInfo.InvariantCulture);
        if (count < 0) throw new SafeTensorsException(f.Path, $"optimizer.num_params is negative ({count}).");
        var steps = new long[count];
        var tensors = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var info in f.Tensors)
        {
            if (!info.Name.StartsWith(StatePrefix, StringComparison.Ordinal)) continue;
            string key = info.Name[StatePrefix.Length..];
            if (key.EndsWith(".step", StringComparison.Ordinal)
                && int.TryParse(key.AsSpan(0, key.Length - 5), NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < count)
            {
                var v = f.ReadInt64(info.Name);
                if (v.Length != 1) throw new SafeTensorsException(f.Path, $"'{info.Name}' must hold one value, has {v.Length}.");
                steps[i] = v[0];
                continue;
            }
            var t = info.DType.IsFloatingPoint() ? Tensor.FromArray(f.ReadFloat32(info.Name), info.ShapeInt32)
                : throw new SafeTensorsException(f.Path, $"optimizer state '{info.Name}' is {info.DType.ToFormatName()}; expected a float tensor.");
            tensors.Add(key, t);
        }
        return new OptimizerState(type, lr, stepCount, steps, tensors, new Dictionary<string, double>());
    }
}
