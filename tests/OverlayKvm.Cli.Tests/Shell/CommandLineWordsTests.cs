using OverlayKvm.Cli.Shell;

namespace OverlayKvm.Cli.Tests.Shell;

public sealed class CommandLineWordsTests
{
    [Theory]
    [InlineData("group-list", new[] { "group-list" })]
    [InlineData("  app-define  web   fe --domain vm1 ", new[] { "app-define", "web", "fe", "--domain", "vm1" })]
    [InlineData("a 'b c' \"d e\"", new[] { "a", "b c", "d e" })]
    [InlineData("a\\ b", new[] { "a b" })]
    [InlineData("x\"y z\"w", new[] { "xy zw" })]
    [InlineData("", new string[0])]
    public void Split_Line_Words(string line, string[] expected) =>
        Assert.Equal(expected, CommandLineWords.Split(line));

    [Theory]
    [InlineData("a 'b")]
    [InlineData("\"open")]
    public void Split_UnterminatedQuote_Throws(string line) =>
        Assert.Throws<FormatException>(() => CommandLineWords.Split(line));
}
