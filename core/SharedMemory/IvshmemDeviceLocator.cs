using System.Globalization;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>An ivshmem-plain PCI function in a guest; <see cref="ResourcePath"/> is BAR2, the shared memory.</summary>
public sealed record IvshmemDevice(string PciAddress, string ResourcePath, long Size);

/// <summary>
/// Finds the engine regions a guest was given: PCI functions 1af4:1110 (ivshmem) under sysfs, BAR2 size from the
/// third line of <c>resource</c> ("start end flags"), enabled by writing 1 to <c>enable</c> before mapping.
/// Which device serves which group is read from the region itself (<see cref="EngineRegion.Group"/>), since PCI
/// order is not a contract.
/// </summary>
public static class IvshmemDeviceLocator
{
    public const string DefaultPciRoot = "/sys/bus/pci/devices";
    private const string RedHatVendor = "0x1af4";
    private const string IvshmemDeviceId = "0x1110";

    public static IReadOnlyList<IvshmemDevice> Find(string pciRoot = DefaultPciRoot, bool enable = true)
    {
        var found = new List<IvshmemDevice>();
        if (!Directory.Exists(pciRoot))
        {
            return found;
        }

        foreach (string dir in Directory.GetDirectories(pciRoot).Order(StringComparer.Ordinal))
        {
            if (ReadTrimmed(Path.Combine(dir, "vendor")) != RedHatVendor || ReadTrimmed(Path.Combine(dir, "device")) != IvshmemDeviceId)
            {
                continue;
            }

            long size = Bar2Size(Path.Combine(dir, "resource"));
            string resource2 = Path.Combine(dir, "resource2");
            if (size <= 0 || !File.Exists(resource2))
            {
                continue; // BAR2 not assigned: nothing to map
            }

            if (enable)
            {
                File.WriteAllText(Path.Combine(dir, "enable"), "1");
            }

            found.Add(new IvshmemDevice(Path.GetFileName(dir), resource2, size));
        }

        return found;
    }

    /// <summary>Maps each ivshmem device in turn and returns the region of <paramref name="group"/>, or null.</summary>
    public static EngineRegion? TryAttachGroup(string group, string pciRoot = DefaultPciRoot)
    {
        foreach (IvshmemDevice device in Find(pciRoot))
        {
            SharedMemoryMapping mapping = SharedMemoryMapping.Open(device.ResourcePath, device.Size);
            if (EngineRegion.TryAttach(mapping, out EngineRegion? region) == RegionHeaderStatus.Valid && region!.Group == group)
            {
                return region;
            }

            if (region is not null)
            {
                region.Dispose();
            }
            else
            {
                mapping.Dispose();
            }
        }

        return null;
    }

    private static string? ReadTrimmed(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    private static long Bar2Size(string resourcePath)
    {
        if (!File.Exists(resourcePath))
        {
            return 0;
        }

        string[] lines = File.ReadAllLines(resourcePath);
        if (lines.Length < 3)
        {
            return 0;
        }

        string[] fields = lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2 || !TryHex(fields[0], out long start) || !TryHex(fields[1], out long end) || start == 0 || end <= start)
        {
            return 0;
        }

        return end - start + 1;
    }

    private static bool TryHex(string text, out long value) =>
        long.TryParse(text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
}
