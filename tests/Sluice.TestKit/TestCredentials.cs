namespace Sluice.TestKit;

/// <summary>The credentials every test server gets (its data directory's credentials.yaml, 0600) unless a test chooses its
/// own: an admin API token of every tenant and an AWS key of the default account, so that tests drive the faces with real,
/// verified credentials rather than development mode.</summary>
public static class TestCredentials
{
    public const string AdminToken = "slu_test-admin-token-of-the-test-suite-000001";

    public const string AwsAccessKey = "AKIASLUICETESTKEY001";

    public const string AwsSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    public const string DefaultAccount = "000000000000";

    /// <summary>The credentials file's text.</summary>
    public static string File => $"""
        # Written by Sluice.TestKit for a test server.
        apiTokens:
          - name: test-admin
            tenant: "*"
            scope: admin
            token: {AdminToken}
        awsKeys:
          - accessKeyId: {AwsAccessKey}
            secretAccessKey: "{AwsSecretKey}"
            account: "{DefaultAccount}"

        """;

    /// <summary>Writes a credentials file only its owner may read (the server refuses one that others may change).</summary>
    public static void Write(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var f = new FileStream(path, options);
        using var w = new StreamWriter(f);
        w.Write(text);
    }
}
