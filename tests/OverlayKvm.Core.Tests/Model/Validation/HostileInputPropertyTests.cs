using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Model.Validation;

/// <summary>Arbitrary text never crashes a parser: it parses, or it is refused with the validation error type.</summary>
public sealed class HostileInputPropertyTests
{
    private static readonly char[] Alphabet = "0123456789abcdefABCDEF.:/%-x ".ToCharArray();

    /// <summary>Mostly address-like strings (the interesting region), plus fully arbitrary ones.</summary>
    private static Arbitrary<string> AddressLike() =>
        Gen.OneOf(
                Gen.Elements(Alphabet).ArrayOf().Select(chars => new string(chars)),
                ArbMap.Default.GeneratorFor<string>())
            .ToArbitrary();

    [Fact]
    public void ParseSpace_AnyText_ParsesOrRefusesCleanly()
    {
        Prop.ForAll(AddressLike(), text =>
        {
            try
            {
                var space = AddressSpaceRules.ParseSpace("group g: address space", text);
                return space.ToString() == AddressSpaceRules.ParseSpace("again", space.ToString()).ToString();
            }
            catch (ModelValidationException e)
            {
                return e.Message.StartsWith("group g: address space: ", StringComparison.Ordinal);
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ParseAddress_AnyText_ParsesOrRefusesCleanly()
    {
        Prop.ForAll(AddressLike(), text =>
        {
            try
            {
                var address = AddressSpaceRules.ParseAddress("app g/a: address", text);
                return AddressSpaceRules.ParseAddress("again", address.ToString()).Equals(address);
            }
            catch (ModelValidationException e)
            {
                return e.Field == "app g/a: address";
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void NameRules_AnyText_AcceptedOnlyIfSafe()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
        {
            var valid = NameRules.IsValid(text);
            return !valid || (text.Length is >= 1 and <= 64 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') && text[0] is not ('_' or '.' or '-'));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void JsonAddressSpace_AnyString_DeserializesOrJsonException()
    {
        Prop.ForAll(AddressLike(), text =>
        {
            var json = "{\"name\":\"g\",\"addressSpace\":" + JsonSerializer.Serialize(text ?? "") + ",\"protection\":\"Sealed\",\"version\":1}";
            try
            {
                return JsonSerializer.Deserialize(json, OverlayJsonContext.Default.ApplicationGroup) is not null;
            }
            catch (JsonException)
            {
                return true;
            }
        }).QuickCheckThrowOnFailure();
    }
}
