namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// A libvirt call failed. <see cref="Exception.Message"/> is "OPERATION on SUBJECT: libvirt's own message", so an
/// operator sees both what OverlayKvm tried and what libvirt said.
/// </summary>
public class LibvirtException(LibvirtErrorCode code, string operation, string subject, string libvirtMessage)
    : Exception($"{operation} on {subject}: {libvirtMessage}")
{
    public LibvirtErrorCode Code { get; } = code;
    /// <summary>The libvirt function that failed, e.g. "virDomainLookupByName".</summary>
    public string Operation { get; } = operation;
    /// <summary>What it was applied to, e.g. "domain 'vm1'" or "connection 'qemu:///system'".</summary>
    public string Subject { get; } = subject;
    /// <summary>libvirt's message, verbatim.</summary>
    public string LibvirtMessage { get; } = libvirtMessage;
}

/// <summary>The domain (or its metadata) does not exist.</summary>
public sealed class LibvirtNotFoundException(LibvirtErrorCode code, string operation, string subject, string libvirtMessage)
    : LibvirtException(code, operation, subject, libvirtMessage);

/// <summary>libvirt rejected an XML document (malformed, or invalid against its schema).</summary>
public sealed class LibvirtInvalidXmlException(LibvirtErrorCode code, string operation, string subject, string libvirtMessage)
    : LibvirtException(code, operation, subject, libvirtMessage);

/// <summary>The operation is not possible now (domain not running, hook veto, driver refused…).</summary>
public sealed class LibvirtOperationFailedException(LibvirtErrorCode code, string operation, string subject, string libvirtMessage)
    : LibvirtException(code, operation, subject, libvirtMessage);

/// <summary>The connection is unusable: daemon unreachable, closed, authentication failed.</summary>
public sealed class LibvirtConnectionException(LibvirtErrorCode code, string operation, string subject, string libvirtMessage)
    : LibvirtException(code, operation, subject, libvirtMessage);

/// <summary>A domain with that name or UUID already exists.</summary>
public sealed class LibvirtAlreadyExistsException(LibvirtErrorCode code, string operation, string subject, string libvirtMessage)
    : LibvirtException(code, operation, subject, libvirtMessage);
