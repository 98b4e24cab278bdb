package io.github.optlist.distributed;

/** Free loopback ports for tests in other packages that join a group of one rank. Test code: it never ships. */
public final class TestPorts {

    private TestPorts() {
    }

    /** A TCP port free on the loopback interface now, as {@link Launcher} picks one for a rendezvous store. */
    public static int freePort() {
        return Launcher.freePort();
    }
}
