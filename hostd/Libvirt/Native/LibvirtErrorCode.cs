namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>virErrorNumber values (virterror.h, libvirt 9.0) that OverlayKvm distinguishes; others keep their number.</summary>
public enum LibvirtErrorCode
{
    Ok = 0,
    InternalError = 1,
    NoSupport = 3,
    NoConnect = 5,
    InvalidConnection = 6,
    InvalidDomain = 7,
    InvalidArgument = 8,
    OperationFailed = 9,
    XmlError = 27,
    DomainExists = 28,
    OperationDenied = 29,
    XmlDetail = 35,
    SystemError = 38,
    Rpc = 39,
    NoDomain = 42,
    AuthFailed = 45,
    OperationInvalid = 55,
    ConfigUnsupported = 67,
    OperationTimeout = 68,
    HookScriptFailed = 70,
    NoDomainMetadata = 80,
    OperationUnsupported = 84,
    AccessDenied = 88,
    XmlInvalidSchema = 92,
}
