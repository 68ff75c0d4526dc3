using System.CommandLine;
using System.Globalization;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>sluice queues list|receive|send|delete-message: the built-in queue that callback steps publish to.</summary>
internal static class QueuesCommands
{
    public static Command Build(Terminal t)
    {
        var c = new Command("queues", "Receive and delete messages of the built-in queues (where callback steps publish)");
        c.Subcommands.Add(List(t));
        c.Subcommands.Add(Receive(t));
        c.Subcommands.Add(Send(t));
        c.Subcommands.Add(DeleteMessage(t));
        return c;
    }

    private static Argument<string> QueueArgument() => new("QUEUE") { Description = "The queue's name" };

    private static Command List(Terminal t)
    {
        var c = new Command("list", "List queues with their message counts") { CliOptions.Output };
        c.Aliases.Add("ls");
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var all = new List<QueueInfo>();
            string? token = null;
            do
            {
                var page = await ctx.Client.ListQueuesAsync(1000, token, ct);
                all.AddRange(page.Queues);
                token = page.NextPageToken;
            }
            while (token is not null);
            // The list has no counts; each queue's own answer does.
            var detailed = new List<QueueInfo>();
            foreach (var q in all)
            {
                detailed.Add(await ctx.Client.GetQueueAsync(q.Name, ct));
            }
            ctx.Printer(pr).List(detailed, () =>
            {
                if (detailed.Count == 0)
                {
                    t.Note("no queues");
                    return;
                }
                var table = new TextTable("NAME", "VISIBLE", "IN FLIGHT", "DELAYED", "VISIBILITY TIMEOUT");
                foreach (var q in detailed)
                {
                    table.Add(q.Name, N(q.Messages?.Visible), N(q.Messages?.NotVisible), N(q.Messages?.Delayed),
                        q.Attributes.VisibilityTimeoutSeconds.ToString(CultureInfo.InvariantCulture) + "s");
                }
                table.Write(t);
            }, q => q.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Receive(Terminal t)
    {
        var queue = QueueArgument();
        var wait = new Option<int?>("--wait") { Description = "Seconds to wait for a message when none is there (0-20; default: the queue's)", HelpName = "SECONDS" };
        var max = new Option<int?>("--max") { Description = "Up to this many messages (1-10; default 1)", HelpName = "N" };
        var visibility = new Option<int?>("--visibility-timeout") { Description = "Seconds the messages stay hidden from other receivers (default: the queue's)", HelpName = "SECONDS" };
        var c = new Command("receive", "Receive messages; delete each with delete-message once handled, or it is delivered again") { queue, wait, max, visibility, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var messages = await ctx.Client.ReceiveMessagesAsync(pr.GetValue(queue)!, new ReceiveMessages
            {
                WaitSeconds = pr.GetValue(wait), MaxMessages = pr.GetValue(max), VisibilityTimeoutSeconds = pr.GetValue(visibility),
            }, ct);
            ctx.Printer(pr).List(messages, () =>
            {
                if (messages.Count == 0)
                {
                    t.Note("no message");
                    return;
                }
                foreach (var m in messages)
                {
                    t.Line($"Message:        {m.Id}");
                    t.Line($"Receipt handle: {m.ReceiptHandle}");
                    t.Line($"Received:       {m.ReceiveCount} time{(m.ReceiveCount == 1 ? "" : "s")}");
                    t.Line($"Sent:           {Show.Time(m.SentAt)}");
                    t.Line($"Body:           {m.Body.ReplaceLineEndings(" ")}");
                    t.Line();
                }
            }, m => m.ReceiptHandle);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Send(Terminal t)
    {
        var queue = QueueArgument();
        var body = new Argument<string>("BODY") { Description = "The message body ('-' reads stdin)" };
        var c = new Command("send", "Send a message to a queue") { queue, body, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var text = pr.GetValue(body)!;
            if (text == "-")
            {
                text = await Console.In.ReadToEndAsync(ct);
            }
            var sent = await ctx.Client.SendMessageAsync(pr.GetValue(queue)!, text, ct);
            ctx.Printer(pr).Value(sent, () => t.Line($"message {sent.Id} sent"), s => s.Id);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command DeleteMessage(Terminal t)
    {
        var queue = QueueArgument();
        var handle = new Argument<string>("RECEIPT_HANDLE") { Description = "The receipt handle of the message's latest receive" };
        var c = new Command("delete-message", "Delete a received message (it is not delivered again)") { queue, handle };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var deleted = await ctx.Client.DeleteMessageAsync(pr.GetValue(queue)!, pr.GetValue(handle)!, ct);
            t.Line(deleted ? "message deleted" : "nothing deleted: the message was gone already, or it was received again since (an older receipt handle)");
            return ExitCodes.Ok;
        });
        return c;
    }

    private static string N(long? n) => n?.ToString(CultureInfo.InvariantCulture) ?? "";
}
