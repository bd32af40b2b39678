// One decoded transcript with its scores: what the CTC decoders (greedy and prefix beam search) return.
namespace Cochlea.Models.Speech;

/// <summary>
/// A transcript: its labels (blanks removed, repeats merged), text, and natural-log scores with
/// <c>Score = AcousticScore + LmScore</c>.
/// </summary>
/// <param name="Labels">The label sequence.</param>
/// <param name="Text">The labels as text (through the alphabet).</param>
/// <param name="Score">The ranking score: acoustic plus language-model terms.</param>
/// <param name="AcousticScore">log p(labels | x): for beam search the summed probability of all alignments of the
/// prefix that the search kept (exact without pruning); for greedy decoding the log-probability of the best path.</param>
/// <param name="LmScore">alpha * ln P_LM(words) + beta * words + hot-word boosts; 0 without a language model.</param>
/// <param name="Words">Number of words (space-separated, non-empty).</param>
public sealed record CtcHypothesis(int[] Labels, string Text, double Score, double AcousticScore, double LmScore, int Words);
