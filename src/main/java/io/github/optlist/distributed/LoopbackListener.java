package io.github.optlist.distributed;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.gloo.Socket;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The listening socket rank 0's rendezvous store is served from when the master address is a loopback address.
 *
 * <p>c10d's {@code TCPStore} binds its server to every interface ({@code ::} or {@code 0.0.0.0}), and the store
 * has no authentication: anyone who reaches the port can read and write the group's keys. Its options take instead
 * a socket the caller bound ({@code masterListenFd}); Java cannot hand out a raw descriptor, so the socket is made
 * with Gloo's TCP socket, which the presets map: bound to the loopback address only, listening, then released (its
 * descriptor is no longer closed by Gloo) and adopted by the store, which closes it when it is freed.
 */
final class LoopbackListener {

    /** Linux and BSD share AF_INET; AF_INET6 differs. */
    private static final int AF_INET = 2;
    private static final int AF_INET6_LINUX = 10;
    private static final int AF_INET6_MACOS = 30;

    private LoopbackListener() {
    }

    /**
     * The loopback address {@code masterAddr} names, or null when it names another address (or none this machine
     * can resolve: the store then reports it as before). A name resolving to loopback addresses only counts as
     * loopback; its first IPv4 address is preferred, as clients try every address the name resolves to.
     */
    static InetAddress loopbackAddress(String masterAddr) {
        InetAddress[] all;
        try {
            all = InetAddress.getAllByName(masterAddr);
        } catch (UnknownHostException | SecurityException e) {
            return null;
        }
        InetAddress chosen = null;
        for (InetAddress address : all) {
            if (!address.isLoopbackAddress()) {
                return null;
            }
            if (chosen == null || (address instanceof Inet4Address && !(chosen instanceof Inet4Address))) {
                chosen = address;
            }
        }
        return chosen;
    }

    /**
     * A socket listening on {@code address:port} only, as a descriptor the caller owns (it must hand it to the store,
     * which closes it), or empty where this platform's socket address layout is not known here (Windows): the store
     * then listens on every interface, as c10d does.
     *
     * @throws RuntimeException if the socket cannot be bound (the port is in use); nothing is left open then
     */
    static OptionalInt listen(InetAddress address, int port) {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        boolean linux = os.contains("linux");
        boolean mac = os.contains("mac") || os.contains("darwin");
        if (!linux && !mac) {
            return OptionalInt.empty();
        }
        boolean v6 = address instanceof Inet6Address;
        byte[] raw = address.getAddress();
        int family = v6 ? (linux ? AF_INET6_LINUX : AF_INET6_MACOS) : AF_INET;
        try (PointerScope scope = new PointerScope()) {
            Socket socket;
            try {
                socket = Socket.createForFamily(family);
            } catch (UnsatisfiedLinkError e) {
                return OptionalInt.empty();
            }
            // The scope frees the socket, closing its descriptor unless it was released below.
            // sockaddr_in (16 bytes) or sockaddr_in6 (28): the family, then the port and address in network byte
            // order. Linux has a 16-bit family in host (little-endian) order; macOS a length byte first.
            int length = v6 ? 28 : 16;
            BytePointer sockaddr = new BytePointer(length);
            sockaddr.zero();
            if (linux) {
                sockaddr.put(0, (byte) family);
            } else {
                sockaddr.put(0, (byte) length);
                sockaddr.put(1, (byte) family);
            }
            sockaddr.put(2, (byte) (port >>> 8));
            sockaddr.put(3, (byte) port);
            // The IPv4 address at offset 4; the IPv6 one after the 4-byte flow info, at 8 (the scope id stays 0).
            int at = v6 ? 8 : 4;
            for (int i = 0; i < raw.length; i++) {
                sockaddr.put(at + i, raw[i]);
            }
            socket.reuseAddr(true);
            socket.bind(sockaddr, length);
            socket.listen(1024);
            return OptionalInt.of(socket.release());
        }
    }
}
