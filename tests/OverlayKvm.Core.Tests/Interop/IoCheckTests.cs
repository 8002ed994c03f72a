using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Core.Tests.Interop;

public class IoCheckTests
{
    [Fact]
    public void Open_MissingPath_BecomesFileNotFoundNamingTheOperation()
    {
        Assert.Equal(-1, CoreInterop.Open("/nonexistent/overlaykvm-test", CoreInterop.O_RDWR, 0));
        Assert.Equal(Errno.ENOENT, IoCheck.LastErrno);
        var ex = Assert.Throws<FileNotFoundException>(() => SafeFdHandle.Open("/nonexistent/overlaykvm-test", CoreInterop.O_RDWR));
        Assert.Contains("open /nonexistent/overlaykvm-test", ex.Message);
    }

    [Theory]
    [InlineData((int)Errno.EACCES, typeof(UnauthorizedAccessException))]
    [InlineData((int)Errno.EPERM, typeof(UnauthorizedAccessException))]
    [InlineData((int)Errno.ECANCELED, typeof(OperationCanceledException))]
    [InlineData((int)Errno.EBUSY, typeof(ErrnoException))]
    public void Create_MapsErrnoToExceptionType(int errno, Type expected)
    {
        Exception ex = IoCheck.Create("ioctl TUNSETIFF ovk1", (Errno)errno);
        Assert.IsType(expected, ex);
        Assert.Contains("ioctl TUNSETIFF ovk1", ex.Message);
    }

    [Fact]
    public void ErrnoException_CarriesErrnoAndOperation()
    {
        var ex = new ErrnoException("write tun0", Errno.EINVAL);
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Equal("write tun0", ex.Operation);
        Assert.Contains("EINVAL", ex.Message);
    }

    [Fact]
    public void FdIo_ReadAndWrite_OnDevNullAndDevZero()
    {
        using SafeFdHandle zero = SafeFdHandle.Open("/dev/zero", CoreInterop.O_RDWR);
        Span<byte> buffer = stackalloc byte[64];
        buffer.Fill(0xAA);
        Assert.Equal(64, FdIo.Read(zero, buffer, out Errno e1));
        Assert.Equal(Errno.None, e1);
        Assert.Equal(-1, buffer.IndexOfAnyExcept((byte)0));
        Assert.Equal(64, FdIo.Write(zero, buffer, out _));
        Assert.True(FdIo.WaitReadable(zero, 0));
    }

    [Fact]
    public void FdIo_ReadOnClosedHandle_ReturnsErrorWithoutThrowingErrno()
    {
        using SafeFdHandle wrongMode = SafeFdHandle.Open("/dev/null", 0x1 /* O_WRONLY */);
        Span<byte> buffer = stackalloc byte[4];
        Assert.Equal(-1, FdIo.Read(wrongMode, buffer, out Errno errno));
        Assert.Equal(Errno.EBADF, errno);
    }
}
