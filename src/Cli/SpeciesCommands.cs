// `cochlea train species` and `cochlea predict species`: the CLI faces of Cochlea.Models.Tagging.SpeciesTrainer
// (DESIGN.md model 4, the Rainforest recipe). Several --backbone values train one run each, in OUT/<backbone>.
using System.Globalization;
using Cochlea.Models.Tagging;

namespace Cochlea.Cli;

static class SpeciesCommands
{
    const string TrainUsage = "usage: cochlea train species --data DIR --tp train_tp.csv [--fp train_fp.csv] [--backbone resnet50|efficientnet-b3|inception-v3[,...]] "
        + "[--folds 5] [--fold K] [--epochs 10] [--batch 8] [--lr 0.001] [--warmup 1] [--width-scale 1] [--depth-scale 1] [--height 192] [--width 384] "
        + "[--classes N] [--mixup 0.1] [--label-smoothing 0.2] [--seed 1] [--out RUNDIR]";
    const string PredictUsage = "usage: cochlea predict species --model CKPT|RUNDIR[,...] --data DIR --out submission.csv";

    public static int Train(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new()
        {
            ["data"] = "", ["tp"] = "", ["fp"] = "", ["backbone"] = "resnet50", ["folds"] = "5", ["fold"] = "", ["epochs"] = "10", ["batch"] = "8",
            ["lr"] = "0.001", ["warmup"] = "1", ["width-scale"] = "1", ["depth-scale"] = "1", ["height"] = "192", ["width"] = "384", ["classes"] = "",
            ["mixup"] = "0.1", ["label-smoothing"] = "0.2", ["seed"] = "1", ["out"] = "",
        });
        var data = o.ExistingFolder("data");
        var tp = o.OptionalExistingFile("tp") ?? throw new UsageException($"--tp is required. {TrainUsage}");
        var fp = o.OptionalExistingFile("fp");
        var backbones = o.Required("backbone").Split(',').Select(ParseBackbone).ToList();
        string outDir = o.Optional("out") ?? Path.Combine("runs", $"species-{DateTime.Now:yyyyMMdd-HHmmss}");
        int folds = o.Int("folds");
        int? fold = o.Optional("fold") is null ? null : o.NonNegativeInt("fold");
        if (folds < 2) throw new UsageException("--folds must be at least 2.");
        if (fold >= folds) throw new UsageException($"--fold {fold} is not below --folds {folds}.");
        double Scale(string name) => o.Fraction(name) > 0 ? o.Fraction(name) : throw new UsageException($"--{name} must be in (0, 1].");
        foreach (var kind in backbones)
        {
            var options = new SpeciesTrainOptions
            {
                AudioDir = data, TpCsv = tp, FpCsv = fp, OutDir = backbones.Count == 1 ? outDir : Path.Combine(outDir, Name(kind)), Backbone = kind,
                Folds = folds, OnlyFold = fold, Epochs = o.Int("epochs"), Batch = o.Int("batch"), LearningRate = o.Float("lr"),
                WarmupEpochs = o.NonNegative("warmup"), WidthScale = Scale("width-scale"), DepthScale = Scale("depth-scale"),
                Classes = o.Optional("classes") is null ? null : o.Int("classes"), Seed = o.NonNegativeInt("seed"),
                FrontEnd = new SpeciesFrontEnd(Height: o.Int("height"), Width: o.Int("width")),
                MixupAlpha = o.NonNegative("mixup"), LabelSmoothing = (float)o.Fraction("label-smoothing"),
            };
            var paths = SpeciesTrainer.Train(options, ui.Line);
            ui.Line($"train species ({Name(kind)}): {paths.Count} fold checkpoint(s) in {Path.GetFullPath(options.OutDir)}");
        }
        return 0;
    }

    public static int Predict(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new() { ["model"] = "", ["data"] = "", ["out"] = "submission.csv" });
        var data = o.ExistingFolder("data");
        var ckpts = new List<string>();
        foreach (var m in o.Required("model").Split(','))
        {
            if (Directory.Exists(m)) ckpts.AddRange(Directory.GetFiles(m, "fold*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else if (File.Exists(m)) ckpts.Add(m);
            else throw new UsageException($"--model: not found: {Path.GetFullPath(m)}. {PredictUsage}");
        }
        if (ckpts.Count == 0) throw new UsageException($"--model: no fold*.safetensors checkpoints found. {PredictUsage}");
        int rows = SpeciesTrainer.Predict(ckpts, data, o.Str("out"), ui.Line);
        ui.Line($"predict species: {rows} recordings, {ckpts.Count} checkpoint(s) averaged -> {Path.GetFullPath(o.Str("out"))}");
        return 0;
    }

    static TaggerBackbone ParseBackbone(string s) => s.Trim().ToLowerInvariant() switch
    {
        "resnet50" => TaggerBackbone.ResNet50,
        "efficientnet-b3" or "efficientnet_b3" => TaggerBackbone.EfficientNetB3,
        "inception-v3" or "inception_v3" => TaggerBackbone.InceptionV3,
        _ => throw new UsageException($"--backbone: unknown '{s}' (resnet50, efficientnet-b3, inception-v3)."),
    };

    static string Name(TaggerBackbone k) => k switch
    {
        TaggerBackbone.ResNet50 => "resnet50", TaggerBackbone.EfficientNetB3 => "efficientnet-b3", _ => "inception-v3",
    };
}
