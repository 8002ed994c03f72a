using System.Net;
using FsCheck.Xunit;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Model.Validation;

public sealed class AddressAllocatorTests
{
    [Fact]
    public void LowestFree_EmptySpace_FirstHostAddress()
    {
        Assert.Equal(IPAddress.Parse("10.1.0.1"), AddressAllocator.LowestFree("web", IPNetwork.Parse("10.1.0.0/16"), []));
        Assert.Equal(IPAddress.Parse("fd00::1"), AddressAllocator.LowestFree("web", IPNetwork.Parse("fd00::/64"), []));
    }

    [Fact]
    public void LowestFree_SkipsTakenAndIgnoresOutsideAddresses()
    {
        var taken = new[] { "10.1.0.2", "10.1.0.1", "10.9.0.3", "10.1.0.4", "::ffff:10.1.0.3" }.Select(IPAddress.Parse);

        Assert.Equal(IPAddress.Parse("10.1.0.5"), AddressAllocator.LowestFree("web", IPNetwork.Parse("10.1.0.0/16"), taken));
    }

    [Fact]
    public void LowestFree_FullIPv4Space_RefusedWithoutHandingOutBroadcast()
    {
        var taken = new[] { "10.1.0.1", "10.1.0.2" }.Select(IPAddress.Parse);

        var error = Assert.Throws<ModelValidationException>(() => AddressAllocator.LowestFree("web", IPNetwork.Parse("10.1.0.0/30"), taken));

        Assert.Equal("group web: address space: 10.1.0.0/30 has no free address left", error.Message);
    }

    [Fact]
    public void LowestFree_IPv6_LastAddressIsUsable()
    {
        var taken = new[] { "fd00::1", "fd00::2" }.Select(IPAddress.Parse);

        Assert.Equal(IPAddress.Parse("fd00::3"), AddressAllocator.LowestFree("web", IPNetwork.Parse("fd00::/126"), taken));
    }

    /// <summary>Whatever is taken in a /24: the result is usable, free, and every lower usable address is taken.</summary>
    [Property(MaxTest = 300)]
    public bool LowestFree_AnyTakenSet_IsLowestUsableFreeAddress(byte[] hostParts)
    {
        var space = IPNetwork.Parse("192.168.7.0/24");
        var taken = hostParts.Select(b => new IPAddress(new byte[] { 192, 168, 7, b })).ToList();
        var takenSet = hostParts.ToHashSet();
        var usableFree = Enumerable.Range(1, 254).Where(i => !takenSet.Contains((byte)i)).ToList();

        try
        {
            var result = AddressAllocator.LowestFree("g", space, taken).GetAddressBytes();
            return usableFree.Count > 0 && result[3] == usableFree[0] && result[0] == 192 && result[2] == 7;
        }
        catch (ModelValidationException)
        {
            return usableFree.Count == 0;
        }
    }
}
