// `cochlea transcribe --model CKPT FILE.wav [--lm LM.arpa --beam 100 --alpha A --beta B]`: greedy or
// prefix-beam-search transcription of one file with a DeepSpeech checkpoint.
using System.Globalization;
using Cochlea.Models.Speech;

namespace Cochlea.Cli;

static class TranscribeCommand
{
    public static int Run(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new() { ["model"] = "", ["lm"] = "", ["beam"] = "0", ["alpha"] = "0.75", ["beta"] = "1.85" }, out var files);
        if (files.Count != 1) throw new UsageException("expected exactly one audio file: cochlea transcribe --model CKPT FILE.wav [--lm LM.arpa --beam 100]");
        if (!File.Exists(files[0])) throw new UsageException($"audio file not found: {Path.GetFullPath(files[0])}");
        var ckpt = o.OptionalExistingFile("model") ?? throw new UsageException("--model CKPT is required.");
        using var model = DeepSpeechRun.LoadModel(ckpt);
        var corpus = new SpeechCorpus();
        var (features, frames) = corpus.Featurize(files[0]);
        model.Eval();
        using var ng = Tensor.NoGrad();
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray(features, frames, 1, features.Length / Math.Max(frames, 1));
        var logProbs = Ops.LogSoftmax(model.Forward(x), 2).ToArray();
        int beam = o.NonNegativeInt("beam");
        var lmPath = o.Optional("lm");
        if (beam == 0 && lmPath is null)
        {
            ui.Line(CtcGreedyDecoder.Decode(logProbs, frames, corpus.Alphabet).Text);
            return 0;
        }
        var lm = lmPath is null ? null : File.Exists(lmPath) ? ArpaLanguageModel.Load(lmPath) : throw new UsageException($"--lm: file not found: {Path.GetFullPath(lmPath)}");
        var decoder = new CtcBeamSearchDecoder(corpus.Alphabet, beam == 0 ? 100 : beam, lm,
            double.Parse(o.Str("alpha"), CultureInfo.InvariantCulture), double.Parse(o.Str("beta"), CultureInfo.InvariantCulture));
        var best = decoder.Decode(logProbs, frames, 1);
        ui.Line(best.Count == 0 ? "" : best[0].Text);
        return 0;
    }
}
