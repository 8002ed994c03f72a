using System.Runtime.Versioning;

// The agent runs inside Linux VMs only (TUN, /proc, virtio-serial, unix sockets with modes).
[assembly: SupportedOSPlatform("linux")]
