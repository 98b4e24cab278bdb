/**
 * Not API: helpers the library's packages share (native memory ownership, dtype codes, device and dtype keys,
 * message formatting). They are public only so that {@code io.github.optlist.torch} and
 * {@code io.github.optlist.distributed} can reach them; they may change or go in any release. The Javadoc
 * leaves this package out.
 */
package io.github.optlist.internal;
