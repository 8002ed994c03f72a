// overlay-hook: libvirt's qemu hook for OverlayKvm (installed as /etc/libvirt/hooks/qemu.d/overlaykvm).
// libvirt waits for this process, so it starts fast (Native AOT), answers locally for domains that are not
// ours, and never calls libvirt (libvirtd holds the domain's lock while the hook runs). See docs/hook.md.
return OverlayKvm.QemuHook.HookMain.Run(args, Console.OpenStandardInput(), static () => Console.Error);
