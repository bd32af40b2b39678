// Imports a torchvision ImageNet state_dict (saved to safetensors: torch's names, e.g. from
// `safetensors.torch.save_file(torchvision.models.resnet50(weights=...).state_dict(), path)`) into an
// AttentionTagger's backbone. The names map one to one, only prefixed and (for ResNet50) renamed as
// the reference twin's nn.Sequential names them; the ImageNet classifier (fc, classifier, AuxLogits)
// has no counterpart and is skipped. The attention head (att, cls) keeps its initialisation.
using Cochlea.IO;
using Cochlea.Nn;

namespace Cochlea.Models.Tagging;

/// <summary>torchvision state_dict -> AttentionTagger backbone names, and the import itself.</summary>
public static class TorchvisionImport
{
    /// <summary>
    /// The tagger's name for torchvision's <paramref name="name"/>, or null for the ImageNet classifier's entries
    /// (fc.*, classifier.*, AuxLogits.*), which the tagger does not have.
    /// </summary>
    public static string? TaggerName(TaggerBackbone kind, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int dot = name.IndexOf('.');
        string head = dot < 0 ? name : name[..dot], rest = dot < 0 ? "" : name[dot..];
        switch (kind)
        {
            case TaggerBackbone.ResNet50:
                string? index = head switch
                {
                    "conv1" => "0", "bn1" => "1", "layer1" => "4", "layer2" => "5", "layer3" => "6", "layer4" => "7",
                    _ => null,
                };
                return index is null ? null : "backbone." + index + rest;
            case TaggerBackbone.EfficientNetB3:
                return head == "features" ? "backbone" + rest : null;
            case TaggerBackbone.InceptionV3:
                return head is "fc" or "AuxLogits" ? null : "backbone." + name;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backbone");
        }
    }

    /// <summary>
    /// Copies every backbone tensor of <paramref name="torchvisionState"/> into <paramref name="tagger"/>. Every backbone entry
    /// of the tagger must be present with its shape (a width-reduced tagger cannot take full-size weights); classifier entries
    /// are skipped. Returns the torchvision names that were skipped.
    /// </summary>
    public static IReadOnlyList<string> Load(AttentionTagger tagger, TaggerBackbone kind, IReadOnlyDictionary<string, Tensor> torchvisionState)
    {
        ArgumentNullException.ThrowIfNull(tagger);
        ArgumentNullException.ThrowIfNull(torchvisionState);
        var mapped = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var skipped = new List<string>();
        foreach (var (name, t) in torchvisionState)
        {
            var to = TaggerName(kind, name);
            if (to is null) skipped.Add(name);
            else mapped[to] = t;
        }
        // The head is not in an ImageNet state_dict: take the tagger's own values for it, so the load can stay strict.
        foreach (var (name, t) in tagger.StateDict())
            if (!name.StartsWith("backbone.", StringComparison.Ordinal)) mapped.TryAdd(name, t);
        tagger.LoadStateDict(mapped, strict: true);
        return skipped;
    }

    /// <summary>Loads a torchvision state_dict saved as safetensors (see the file header) into <paramref name="tagger"/>.</summary>
    public static IReadOnlyList<string> LoadFile(AttentionTagger tagger, TaggerBackbone kind, string path)
    {
        using var f = SafeTensorsFile.Open(path);
        using var scope = Tensor.Scope();
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var info in f.Tensors)
            state[info.Name] = info.DType.IsFloatingPoint()
                ? Tensor.FromArray(f.ReadFloat32(info.Name), info.ShapeInt32)
                : Tensor.FromArray(f.ReadInt64(info.Name), info.ShapeInt32);
        return Load(tagger, kind, state);
    }
}
