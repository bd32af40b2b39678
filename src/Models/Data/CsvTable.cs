// A small RFC 4180 CSV reader for the annotation files of the data sets (Freesound, Rainforest,
// DeepSpeech): comma-separated, fields optionally in double quotes ("" inside quotes is a quote,
// quoted fields may span lines), LF, CRLF or CR line ends, a UTF-8 BOM ignored, blank lines skipped,
// the first record is the header. Every error names the file, the line and the column, because the
// people who hit them are editing a 100k-line spreadsheet export.
using System.Globalization;
using System.Text;

namespace Cochlea.Models.Data;

/// <summary>A malformed CSV file or value: <see cref="FileName"/>, 1-based <see cref="Line"/> and <see cref="Column"/> (0 = whole record).</summary>
public sealed class CsvFormatException : FormatException
{
    /// <summary>Creates the exception; the message is prefixed with "fileName, line L, column C".</summary>
    public CsvFormatException(string fileName, int line, int column, string message)
        : base($"{fileName}, line {line}{(column > 0 ? $", column {column}" : "")}: {message}")
    {
        FileName = fileName;
        Line = line;
        Column = column;
    }

    /// <summary>File name (or the name given to <see cref="CsvTable.Parse"/>).</summary>
    public string FileName { get; }

    /// <summary>1-based line where the record (or the bad field) starts.</summary>
    public int Line { get; }

    /// <summary>1-based field number; 0 when the problem concerns the whole record.</summary>
    public int Column { get; }
}

/// <summary>One data record: its fields and the line it starts on.</summary>
/// <param name="Line">1-based line of the record's first character.</param>
/// <param name="Fields">Field values, unquoted.</param>
public sealed record CsvRecord(int Line, string[] Fields);

/// <summary>A parsed CSV file: a header and records with exactly as many fields.</summary>
public sealed class CsvTable
{
    readonly Dictionary<string, int> _columns;

    CsvTable(string source, string[] header, List<CsvRecord> rows)
    {
        FileName = source;
        Header = header;
        Rows = rows;
        _columns = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < header.Length; i++)
            if (!_columns.TryAdd(header[i], i))
                throw new CsvFormatException(source, 1, i + 1, $"column name '{header[i]}' appears twice in the header.");
    }

    /// <summary>Name used in error messages (the file name).</summary>
    public string FileName { get; }

    /// <summary>Column names (trimmed).</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>Data records in file order.</summary>
    public IReadOnlyList<CsvRecord> Rows { get; }

    /// <summary>Reads and parses the CSV file at <paramref name="path"/> (UTF-8, BOM optional).</summary>
    public static CsvTable Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV file not found: {path}", path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), Path.GetFileName(path));
    }

    /// <summary>Parses CSV text; <paramref name="source"/> names it in error messages.</summary>
    public static CsvTable Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(source);
        var records = Records(text, source);
        if (records.Count == 0) throw new CsvFormatException(source, 1, 0, "the file is empty; a header line was expected.");
        var header = records[0].Fields.Select(h => h.Trim()).ToArray();
        for (int i = 0; i < header.Length; i++)
            if (header[i].Length == 0) throw new CsvFormatException(source, records[0].Line, i + 1, "empty column name in the header.");
        var rows = records.GetRange(1, records.Count - 1);
        foreach (var r in rows)
            if (r.Fields.Length != header.Length)
                throw new CsvFormatException(source, r.Line, 0, $"{r.Fields.Length} fields, but the header has {header.Length} ({string.Join(",", header)}).");
        return new CsvTable(source, header, rows);
    }

    /// <summary>Index of column <paramref name="name"/>; throws naming the file and the columns found when it is absent.</summary>
    public int Column(string name)
    {
        if (TryColumn(name, out int i)) return i;
        throw new CsvFormatException(FileName, 1, 0, $"missing column '{name}' (header: {string.Join(",", Header)}).");
    }

    /// <summary>Index of column <paramref name="name"/> if present.</summary>
    public bool TryColumn(string name, out int index) => _columns.TryGetValue(name, out index);

    /// <summary>The raw value of row <paramref name="row"/> (0-based data row), column <paramref name="column"/>.</summary>
    public string Text(int row, int column) => Rows[row].Fields[column];

    /// <summary>A required, non-blank value (trimmed).</summary>
    public string NonEmpty(int row, int column)
    {
        string v = Text(row, column).Trim();
        if (v.Length == 0) throw Error(row, column, "empty value");
        return v;
    }

    /// <summary>A finite floating-point value (invariant culture).</summary>
    public double Double(int row, int column)
    {
        string v = Text(row, column).Trim();
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
            throw Error(row, column, $"'{v}' is not a finite number");
        return d;
    }

    /// <summary>An integer value (invariant culture).</summary>
    public long Integer(int row, int column)
    {
        string v = Text(row, column).Trim();
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l))
            throw Error(row, column, $"'{v}' is not an integer");
        return l;
    }

    /// <summary>A boolean: 1/0, true/false, yes/no (any case).</summary>
    public bool Boolean(int row, int column)
    {
        string v = Text(row, column).Trim();
        return v.ToLowerInvariant() switch
        {
            "1" or "true" or "yes" => true,
            "0" or "false" or "no" => false,
            _ => throw Error(row, column, $"'{v}' is not a boolean (1/0, true/false, yes/no)"),
        };
    }

    /// <summary>An error naming the file, the line and the column (with its name) of a data value.</summary>
    public CsvFormatException Error(int row, int column, string problem) =>
        new(FileName, Rows[row].Line, column + 1, $"{problem} in column '{Header[column]}'.");

    // ------------------------------------------------------------------ tokenizer

    static List<CsvRecord> Records(string text, string source)
    {
        var records = new List<CsvRecord>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        int line = 1, recordLine = 1;
        bool recordHasContent = false;

        void EndField() { fields.Add(field.ToString()); field.Clear(); }
        void EndRecord()
        {
            EndField();
            // A blank line is one empty field with nothing else: skip it rather than make a 1-field record.
            if (recordHasContent || fields.Count > 1 || fields[0].Length > 0) records.Add(new CsvRecord(recordLine, fields.ToArray()));
            fields.Clear();
            recordHasContent = false;
        }

        while (i < text.Length)
        {
            char c = text[i];
            // A quote opens a quoted field only at the field's start; elsewhere it is kept literally (as Python's csv).
            if (c == '"' && field.Length == 0)
            {
                // Quoted field: runs to the closing quote; "" is a literal quote; newlines are data.
                int startLine = line;
                recordHasContent = true;
                i++;
                while (true)
                {
                    if (i >= text.Length)
                        throw new CsvFormatException(source, startLine, fields.Count + 1, "quoted field is not closed before the end of the file.");
                    char q = text[i];
                    if (q == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    if (q == '\n' || (q == '\r' && !(i + 1 < text.Length && text[i + 1] == '\n'))) line++;
                    field.Append(q);
                    i++;
                }
                if (i < text.Length && text[i] is not (',' or '\r' or '\n'))
                    throw new CsvFormatException(source, line, fields.Count + 1, $"unexpected character '{text[i]}' after a closing quote (a quote inside a field must be doubled).");
                continue;
            }
            if (c == ',') { EndField(); recordHasContent = true; i++; continue; }
            if (c == '\r' || c == '\n')
            {
                EndRecord();
                i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                line++;
                recordLine = line;
                continue;
            }
            field.Append(c);
            i++;
        }
        if (field.Length > 0 || fields.Count > 0 || recordHasContent) EndRecord();
        return records;
    }
}
