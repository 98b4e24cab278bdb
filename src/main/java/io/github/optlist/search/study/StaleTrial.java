package io.github.optlist.search.study;

/**
 * A RUNNING trial whose worker stopped beating, now FAIL.
 *
 * @param number      the failed trial's number
 * @param index       the list index it ran, or -1 when it has none
 * @param retryNumber the number of the WAITING trial enqueued to run it again, or -1 when it has been retried the
 *                    most times allowed
 */
public record StaleTrial(int number, int index, int retryNumber) {
}
