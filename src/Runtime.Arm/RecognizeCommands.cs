// Streaming keyword spotting: a 1 s window slid over a long recording every stride (KeywordStream), and the
// smoothing and suppression of TensorFlow's RecognizeCommands (tensorflow/examples/speech_commands):
// class probabilities are averaged over the results of the last averageWindowMs; a command is reported
// when the averaged top class is not silence, differs from the previous top class, scores above the
// threshold, and more than suppressionMs have passed since the previous top class was set. Fewer than
// minimumCount results in the window give no decision. Buffers are allocated once; Push allocates nothing
// unless a detection callback does.
namespace Cochlea.Runtime;

/// <summary>A reported command: the end time of the window that triggered it (ms from the start), the label and its averaged score.</summary>
public readonly record struct Detection(long TimeMs, string Label, float Score);

/// <summary>TF's RecognizeCommands: averaging window, threshold, suppression, minimum count.</summary>
public sealed class RecognizeCommands
{
    readonly string[] _labels;
    readonly long[] _times;
    readonly float[] _scores, _average;
    readonly int _capacity;
    int _head, _count;
    string _previousLabel;
    long _previousTime = long.MinValue / 2;

    /// <summary>Labels in model output order; the defaults are those of TF's test_streaming_accuracy.</summary>
    public RecognizeCommands(IReadOnlyList<string> labels, int averageWindowMs = 500, float threshold = 0.7f, int suppressionMs = 1500, int minimumCount = 3,
        int maxResultsPerWindow = 1024)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count < 1) throw new ArgumentException("expected at least one label.", nameof(labels));
        if (averageWindowMs < 0 || suppressionMs < 0 || minimumCount < 1 || maxResultsPerWindow < 1)
            throw new ArgumentOutOfRangeException(nameof(averageWindowMs), "expected windows >= 0 ms, minimum count >= 1.");
        _labels = labels.ToArray();
        AverageWindowMs = averageWindowMs; Threshold = threshold; SuppressionMs = suppressionMs; MinimumCount = minimumCount;
        _capacity = maxResultsPerWindow;
        _times = new long[_capacity];
        _scores = new float[_capacity * _labels.Length];
        _average = new float[_labels.Length];
        _previousLabel = _labels.Contains(SilenceLabel) ? SilenceLabel : _labels[0];
    }

    /// <summary>The label never reported as a command (TF's "_silence_").</summary>
    public const string SilenceLabel = "_silence_";

    /// <summary>Settings.</summary>
    public int AverageWindowMs { get; }
    /// <inheritdoc cref="AverageWindowMs"/>
    public float Threshold { get; }
    /// <inheritdoc cref="AverageWindowMs"/>
    public int SuppressionMs { get; }
    /// <inheritdoc cref="AverageWindowMs"/>
    public int MinimumCount { get; }

    /// <summary>The averaged probabilities after the last <see cref="Process"/>.</summary>
    public ReadOnlySpan<float> Average => _average;

    /// <summary>
    /// Adds the probabilities of the window ending at <paramref name="timeMs"/> (times must not decrease) and returns true with the
    /// detection when a new command is recognised.
    /// </summary>
    public bool Process(ReadOnlySpan<float> scores, long timeMs, out Detection detection)
    {
        int c = _labels.Length;
        if (scores.Length != c) throw new ArgumentException($"expected {c} scores, got {scores.Length}.", nameof(scores));
        if (_count > 0 && timeMs < _times[(_head + _count - 1) % _capacity])
            throw new ArgumentException($"results must arrive in time order; {timeMs} ms follows {_times[(_head + _count - 1) % _capacity]} ms.", nameof(timeMs));
        if (_count == _capacity) { _head = (_head + 1) % _capacity; _count--; }
        int slot = (_head + _count) % _capacity;
        _times[slot] = timeMs;
        scores.CopyTo(_scores.AsSpan(slot * c, c));
        _count++;
        while (_count > 0 && _times[_head] < timeMs - AverageWindowMs) { _head = (_head + 1) % _capacity; _count--; }

        detection = default;
        Array.Clear(_average);
        for (int i = 0; i < _count; i++)
        {
            var s = _scores.AsSpan((_head + i) % _capacity * c, c);
            for (int j = 0; j < c; j++) _average[j] += s[j];
        }
        for (int j = 0; j < c; j++) _average[j] /= _count;
        if (_count < MinimumCount) return false;
        int top = 0;
        for (int j = 1; j < c; j++) if (_average[j] > _average[top]) top = j;
        string label = _labels[top];
        long since = timeMs - _previousTime;
        if (_average[top] > Threshold && label != _previousLabel && since > SuppressionMs)
        {
            _previousLabel = label;
            _previousTime = timeMs;
            if (label == SilenceLabel) return false;
            detection = new Detection(timeMs, label, _average[top]);
            return true;
        }
        return false;
    }
}

/// <summary>Slides the model's window over a stream of samples every <see cref="StrideSamples"/> and feeds <see cref="RecognizeCommands"/>.</summary>
public sealed class KeywordStream
{
    readonly FrozenModel _model;
    readonly float[] _window, _probs;
    int _sinceRun;

    /// <summary>A stream over <paramref name="model"/>, running it every <paramref name="strideMs"/> ms once a full window has arrived.</summary>
    public KeywordStream(FrozenModel model, RecognizeCommands recognizer, int strideMs = 100)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(recognizer);
        if (strideMs < 1) throw new ArgumentOutOfRangeException(nameof(strideMs), strideMs, "stride must be >= 1 ms.");
        _model = model;
        Recognizer = recognizer;
        SampleRate = model.Graph.SampleRate;
        StrideSamples = Math.Max(1, (int)((long)strideMs * SampleRate / 1000));
        _window = new float[model.InputLength];
        _probs = new float[model.OutputLength];
    }

    /// <summary>The smoothing in use.</summary>
    public RecognizeCommands Recognizer { get; }
    /// <summary>Samples per second and samples between two runs.</summary>
    public int SampleRate { get; }
    /// <inheritdoc cref="SampleRate"/>
    public int StrideSamples { get; }
    /// <summary>Samples pushed so far, and model runs so far.</summary>
    public long Samples { get; private set; }
    /// <inheritdoc cref="Samples"/>
    public long Runs { get; private set; }

    /// <summary>Appends <paramref name="samples"/>; calls <paramref name="onDetection"/> for each command recognised.</summary>
    public void Push(ReadOnlySpan<float> samples, Action<Detection> onDetection)
    {
        ArgumentNullException.ThrowIfNull(onDetection);
        int n = _window.Length;
        while (!samples.IsEmpty)
        {
            int m = Math.Min(samples.Length, StrideSamples - _sinceRun);
            if (m >= n) { samples.Slice(m - n, n).CopyTo(_window); }
            else
            {
                _window.AsSpan(m).CopyTo(_window);
                samples[..m].CopyTo(_window.AsSpan(n - m));
            }
            samples = samples[m..];
            Samples += m;
            _sinceRun += m;
            if (_sinceRun < StrideSamples) continue;
            _sinceRun = 0;
            if (Samples < n) continue;
            _model.Run(_window, _probs);
            Runs++;
            if (Recognizer.Process(_probs, Samples * 1000 / SampleRate, out var d)) onDetection(d);
        }
    }
}
