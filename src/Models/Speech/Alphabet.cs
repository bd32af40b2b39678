// The character set of a CTC speech model: which output class is which symbol, and which class is
// the blank. DeepSpeech's is 29 classes: space, a-z, apostrophe, then the blank last (TensorFlow's
// convention); PyTorch models usually put the blank first. Any placement is supported.
namespace Cochlea.Models.Speech;

/// <summary>
/// Maps characters to CTC class labels and back. The C = symbols + 1 classes are the symbols in order with
/// the blank inserted at <see cref="Blank"/>: for blank last, symbol i has label i; for blank first, i + 1.
/// </summary>
public sealed class Alphabet
{
    readonly string _symbols;
    readonly int[] _labelOf = new int[char.MaxValue + 1];

    /// <summary>DeepSpeech's alphabet: <c>" abcdefghijklmnopqrstuvwxyz'"</c> (labels 0-27) and the blank as label 28.</summary>
    public static Alphabet DeepSpeech { get; } = new(" abcdefghijklmnopqrstuvwxyz'");

    /// <summary>An alphabet of <paramref name="symbols"/> (distinct characters) with the blank at class <paramref name="blank"/>.</summary>
    /// <param name="symbols">The non-blank symbols in label order, e.g. <c>" abc'"</c>.</param>
    /// <param name="blank">The blank's class index in [0, symbols.Length]; -1 (default) puts it last.</param>
    public Alphabet(string symbols, int blank = -1)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        if (symbols.Length == 0) throw new ArgumentException("An alphabet needs at least one symbol.", nameof(symbols));
        if (blank == -1) blank = symbols.Length;
        if (blank < 0 || blank > symbols.Length)
            throw new ArgumentOutOfRangeException(nameof(blank), blank, $"The blank must be a class in [0, {symbols.Length}] (or -1 for last) for {symbols.Length} symbols.");
        Array.Fill(_labelOf, -1);
        for (int i = 0; i < symbols.Length; i++)
        {
            char ch = symbols[i];
            if (_labelOf[ch] >= 0) throw new ArgumentException($"Symbol '{ch}' appears twice in the alphabet \"{symbols}\".", nameof(symbols));
            _labelOf[ch] = i < blank ? i : i + 1;
        }
        _symbols = symbols;
        Blank = blank;
        SpaceLabel = _labelOf[' '];
    }

    /// <summary>Number of classes C, the blank included (the model's output size).</summary>
    public int Classes => _symbols.Length + 1;

    /// <summary>The blank's class index.</summary>
    public int Blank { get; }

    /// <summary>The label of the space (the word separator), or -1 when the alphabet has none.</summary>
    public int SpaceLabel { get; }

    /// <summary>The non-blank symbols in label order.</summary>
    public string Symbols => _symbols;

    /// <summary>The symbol of a non-blank <paramref name="label"/>.</summary>
    public char this[int label]
    {
        get
        {
            if (label == Blank || (uint)label >= (uint)Classes)
                throw new ArgumentOutOfRangeException(nameof(label), label, $"Label {label} is {(label == Blank ? "the blank" : "not a class")}; symbols have labels in [0, {Classes}) except {Blank}.");
            return _symbols[label < Blank ? label : label - 1];
        }
    }

    /// <summary>The label of <paramref name="symbol"/>, or false when the alphabet does not hold it.</summary>
    public bool TryGetLabel(char symbol, out int label)
    {
        label = _labelOf[symbol];
        return label >= 0;
    }

    /// <summary>Labels of <paramref name="text"/>, one per character; throws naming the first character not in the alphabet.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var labels = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
            if ((labels[i] = _labelOf[text[i]]) < 0)
                throw new ArgumentException($"Character '{text[i]}' (U+{(int)text[i]:X4}) at position {i} of \"{text}\" is not in the alphabet \"{_symbols}\".", nameof(text));
        return labels;
    }

    /// <summary>The text of non-blank <paramref name="labels"/> (a decoded label sequence).</summary>
    public string Decode(IEnumerable<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return new string(labels.Select(l => this[l]).ToArray());
    }
}
