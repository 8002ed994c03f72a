namespace OverlayKvm.GuestAgent.Config;

/// <summary>
/// Finds the key material a snapshot swap leaves behind and disposes it (issue 14 item 10: "dispose dropped cipher
/// contexts"). The compiler reuses a cipher or a sender's streams as long as the key stays (their counters and
/// replay windows live in them), so what the new snapshot does not reference is exactly what was rotated out or
/// belonged to a peer or group that left. Disposal waits a grace period: a worker reads the snapshot once per
/// packet or batch and may still be sealing or opening with the old one, and a disposed context would throw on
/// the packet path.
/// </summary>
internal static class RetiredKeys
{
    /// <summary>Far longer than any packet or batch holds a snapshot; short enough that old keys do not linger.</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(5);

    /// <summary>The ciphers and sender streams <paramref name="previous"/> holds and <paramref name="next"/> does not.</summary>
    public static List<IDisposable> DroppedBy(AgentSnapshot previous, AgentSnapshot next)
    {
        var kept = new HashSet<IDisposable>(ReferenceEqualityComparer.Instance);
        Collect(next, kept);
        var held = new HashSet<IDisposable>(ReferenceEqualityComparer.Instance);
        Collect(previous, held);
        var dropped = new List<IDisposable>();
        foreach (IDisposable key in held)
        {
            if (!kept.Contains(key))
            {
                dropped.Add(key);
            }
        }

        // The document's own key bytes: a recompile (directory lookups) reuses the arrays of the document it merges,
        // so only arrays the new document no longer references are wiped.
        var keptBytes = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        CollectKeyBytes(next.Document, keptBytes);
        var heldBytes = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        CollectKeyBytes(previous.Document, heldBytes);
        foreach (byte[] bytes in heldBytes)
        {
            if (!keptBytes.Contains(bytes))
            {
                dropped.Add(new KeyBytes(bytes));
            }
        }
        return dropped;
    }

    private static void CollectKeyBytes(OverlayKvm.Core.Config.DomainConfigDocument document, HashSet<byte[]> into)
    {
        foreach (var group in document.Groups)
        {
            foreach (var credential in group.Credentials)
            {
                into.Add(credential.Key);
            }
        }
        foreach (var neighbor in document.Neighbors)
        {
            foreach (var credential in neighbor.SendCredentials)
            {
                into.Add(credential.Key);
            }
        }
    }

    /// <summary>A retired document's key: disposing zeroes it.</summary>
    private sealed class KeyBytes(byte[] bytes) : IDisposable
    {
        public void Dispose() => System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
    }

    /// <summary>Disposes <paramref name="dropped"/> after <paramref name="grace"/> (at once when it is zero).</summary>
    public static void DisposeLater(List<IDisposable> dropped, TimeSpan grace)
    {
        if (dropped.Count == 0)
        {
            return;
        }
        if (grace <= TimeSpan.Zero)
        {
            DisposeAll(dropped);
            return;
        }
        _ = Task.Delay(grace).ContinueWith(_ => DisposeAll(dropped), TaskScheduler.Default);
    }

    private static void DisposeAll(List<IDisposable> dropped)
    {
        foreach (IDisposable key in dropped)
        {
            key.Dispose();
        }
    }

    private static void Collect(AgentSnapshot snapshot, HashSet<IDisposable> into)
    {
        foreach (GroupRuntime group in snapshot.GroupsById.Values)
        {
            Collect(group, into);
        }
        foreach (GroupRuntime neighbor in snapshot.Neighbors.Values)
        {
            Collect(neighbor, into);
        }
    }

    private static void Collect(GroupRuntime group, HashSet<IDisposable> into)
    {
        if (group.SendKey is { } send)
        {
            into.Add(send.Cipher);
            into.Add(send.SharedCipher);
        }
        foreach (ReceiveKey receive in group.ReceiveKeys.Values)
        {
            into.Add(receive.Streams);
        }
    }
}
