using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>The one place that turns libvirt's thread-local last error into a typed exception.</summary>
internal static class LibvirtErrors
{
    /// <summary>Throws if <paramref name="result"/> is negative (libvirt's convention for int-returning calls).</summary>
    internal static int Check(int result, string operation, string subject)
    {
        if (result < 0)
        {
            ThrowLast(operation, subject);
        }
        return result;
    }

    /// <summary>Throws if libvirt returned NULL (an invalid handle); otherwise returns the handle.</summary>
    internal static T Check<T>(T handle, string operation, string subject) where T : SafeHandle
    {
        if (handle.IsInvalid)
        {
            handle.Dispose();
            ThrowLast(operation, subject);
        }
        return handle;
    }

    /// <summary>Throws if libvirt returned a NULL pointer.</summary>
    internal static IntPtr CheckPointer(IntPtr result, string operation, string subject)
    {
        if (result == IntPtr.Zero)
        {
            ThrowLast(operation, subject);
        }
        return result;
    }

    /// <summary>
    /// libvirt prints every error to stderr unless a handler is set. Ours are raised as exceptions (with the
    /// message) where they matter, and expected ones (a closed connection while reconnecting) are not noise.
    /// </summary>
    internal static unsafe void SilenceDefaultHandler() => Interop.Libvirt.SetErrorFunc(IntPtr.Zero, &IgnoreError);

    [UnmanagedCallersOnly]
    private static unsafe void IgnoreError(IntPtr userData, Interop.Libvirt.VirError* error)
    {
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowLast(string operation, string subject) => throw CreateLast(operation, subject);

    internal static unsafe LibvirtException CreateLast(string operation, string subject)
    {
        // SAFETY: virGetLastError returns NULL or a pointer to this thread's error struct, valid until the next
        // libvirt call on this thread; we copy the fields out before making any other call.
        Interop.Libvirt.VirError* error = Interop.Libvirt.GetLastError();
        var code = LibvirtErrorCode.InternalError;
        string message = "libvirt reported a failure without an error message";
        if (error != null)
        {
            code = (LibvirtErrorCode)error->Code;
            message = Marshal.PtrToStringUTF8(error->Message) ?? message;
        }
        Interop.Libvirt.ResetLastError();
        return Create(code, operation, subject, message);
    }

    internal static LibvirtException Create(LibvirtErrorCode code, string operation, string subject, string message) => code switch
    {
        LibvirtErrorCode.NoDomain or LibvirtErrorCode.NoDomainMetadata
            => new LibvirtNotFoundException(code, operation, subject, message),
        LibvirtErrorCode.XmlError or LibvirtErrorCode.XmlDetail or LibvirtErrorCode.XmlInvalidSchema
            => new LibvirtInvalidXmlException(code, operation, subject, message),
        LibvirtErrorCode.OperationFailed or LibvirtErrorCode.OperationInvalid or LibvirtErrorCode.OperationDenied
            or LibvirtErrorCode.HookScriptFailed or LibvirtErrorCode.ConfigUnsupported
            or LibvirtErrorCode.OperationUnsupported or LibvirtErrorCode.OperationTimeout
            => new LibvirtOperationFailedException(code, operation, subject, message),
        LibvirtErrorCode.NoConnect or LibvirtErrorCode.InvalidConnection or LibvirtErrorCode.Rpc
            or LibvirtErrorCode.AuthFailed or LibvirtErrorCode.AccessDenied
            => new LibvirtConnectionException(code, operation, subject, message),
        LibvirtErrorCode.DomainExists
            => new LibvirtAlreadyExistsException(code, operation, subject, message),
        _ => new LibvirtException(code, operation, subject, message),
    };
}
