using System.Runtime.Versioning;

// The agent under test is Linux-only (see guest-agent/Hosting/LinuxOnly.cs); so are its tests.
[assembly: SupportedOSPlatform("linux")]
