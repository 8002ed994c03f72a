/* Stand-in for the Native AOT overlay-agent in GuestNativeAgentTests: a dynamically linked ELF that needs
 * what such a binary needs from the image — ld-linux-x86-64.so.2, libc.so.6, libm.so.6 at load time and
 * libssl.so.3/libcrypto.so.3 through dlopen, the way the BCL loads OpenSSL on first crypto use. It reports
 * what it found on the agent port, waits for one line from the host and exits 0. */
#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *port = getenv("OVERLAYKVM_AGENT_PORT");
    if (port == NULL) return 2;
    int fd = open(port, O_RDWR);
    if (fd < 0) return 3;

    void *ssl = dlopen("libssl.so.3", RTLD_NOW);
    void *crypto = dlopen("libcrypto.so.3", RTLD_NOW);
    const char *(*version)(int) = ssl ? (const char *(*)(int))dlsym(ssl, "OpenSSL_version") : NULL;
    void *chacha = crypto ? dlsym(crypto, "EVP_chacha20_poly1305") : NULL;
    /* atof keeps sqrt a real libm call rather than a folded constant. */
    double root = sqrt(atof(argc > 1 ? argv[1] : "2"));

    char line[256];
    int n = snprintf(line, sizeof line, "native sqrt=%.4f openssl=%s chacha20poly1305=%s\n", root,
                     version ? version(0) : "missing", chacha ? "yes" : "no");
    if (write(fd, line, (size_t)n) != n) return 4;
    char buf[64];
    (void)read(fd, buf, sizeof buf);
    return 0;
}
