using Spectre.Console;

namespace Sluice.Cli.Output;

/// <summary>Where output goes. On a terminal: colours, live views and progress bars through Spectre.Console. Redirected
/// (a pipe, a file, a test): plain lines, no ANSI escapes, nothing redrawn.</summary>
internal sealed class Terminal
{
    public Terminal(TextWriter output, TextWriter error, bool interactive)
    {
        Out = output;
        Err = error;
        Interactive = interactive;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!interactive)
        {
            // Nothing reads redirected output by the column: never wrap a long line.
            Ansi.Profile.Width = 4096;
        }
    }

    public static Terminal FromConsole()
    {
        var interactive = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is not "dumb";
        return new Terminal(Console.Out, Console.Error, interactive);
    }

    public TextWriter Out { get; }

    public TextWriter Err { get; }

    /// <summary>True when stdout is a terminal: styles and live views are used.</summary>
    public bool Interactive { get; }

    public IAnsiConsole Ansi { get; }

    public void Line(string text = "") => Out.WriteLine(text);

    /// <summary>Writes text in a Spectre style ("green", "bold red") on a terminal, plain otherwise.</summary>
    public void Write(string text, string? style)
    {
        if (Interactive && style is not null)
        {
            Ansi.Write(new Text(text, Style.Parse(style)));
        }
        else
        {
            Out.Write(text);
        }
    }

    /// <summary>One line on stderr: "error: ..." (in red on a terminal).</summary>
    public void Error(string message)
    {
        if (!Console.IsErrorRedirected && Interactive && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")))
        {
            Err.WriteLine($"\u001b[31merror:\u001b[0m {message}");
        }
        else
        {
            Err.WriteLine($"error: {message}");
        }
    }

    public void Note(string message) => Err.WriteLine(message);
}
