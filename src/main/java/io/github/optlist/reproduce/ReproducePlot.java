package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.BestOfK;
import io.github.optlist.reproduce.ReproduceResult.TaskScores;
import io.github.optlist.ListVariant;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Draws {@code reproduce.png}: best-of-k score against k, the mean over tasks first, then one panel per task; the
 * list under both variants, random search's expectation with its 10 %/90 % band, Adam(1e-3) and the best of the
 * Adam grid as horizontal lines.
 */
final class ReproducePlot {

    private static final int COLUMNS = 3;

    private ReproducePlot() {
    }

    static void write(ReproduceResult result, Path png) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        List<XYChart> charts = new ArrayList<>();
        if (result.mean() != null) {
            charts.add(chart("mean over " + result.tasks().stream().filter(TaskScores::scored).count() + " tasks",
                    result.mean(), true));
        }
        for (TaskScores task : result.tasks()) {
            if (task.scored()) {
                charts.add(chart(task.task() + " (" + task.steps() + " steps)", task.bestOfK(), false));
            } else {
                XYChart empty = base(task.task() + ": not scored");
                empty.addSeries("initialization failed", List.of(1.0), List.of(1.0));
                charts.add(empty);
            }
        }
        int columns = Math.min(COLUMNS, charts.size());
        int rows = (charts.size() + columns - 1) / columns;
        BitmapEncoder.saveBitmap(charts, rows, columns, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart base(String title) {
        XYChart chart = new XYChartBuilder().width(520).height(480).title(title)
                .xAxisTitle("k (trials)").yAxisTitle("best-of-k score (0 = best of run, 1 = init)").build();
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setXAxisMin(1.0).setXAxisMax((double) Reproduce.K);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setXAxisDecimalPattern("0");
        chart.getStyler().setYAxisDecimalPattern("0.0#");
        return chart;
    }

    private static XYChart chart(String title, BestOfK b, boolean legend) {
        XYChart chart = base(title);
        chart.getStyler().setLegendVisible(legend);
        List<Double> k = IntStream.rangeClosed(1, Reproduce.K).mapToObj(i -> (double) i).toList();
        line(chart, "random: 90 %", k, b.random90(), new Color(150, 150, 150), SeriesLines.DOT_DOT);
        line(chart, "random: 10 %", k, b.random10(), new Color(150, 150, 150), SeriesLines.DOT_DOT);
        line(chart, "random search, expected", k, b.randomExpected(), Color.DARK_GRAY, SeriesLines.SOLID);
        line(chart, "Adam lr 1e-3", k, flat(b.adamDefault()), new Color(200, 120, 0), SeriesLines.DASH_DASH);
        line(chart, "best of Adam grid (5 trials)", k, flat(b.adamGrid()), new Color(160, 40, 160),
                SeriesLines.DASH_DOT);
        line(chart, "list, TORCH_PORT", k, b.list(ListVariant.TORCH_PORT), new Color(40, 150, 60), SeriesLines.SOLID)
                .setMarker(SeriesMarkers.DIAMOND);
        line(chart, "list, TASKSET (default)", k, b.list(ListVariant.TASKSET), new Color(30, 90, 200),
                SeriesLines.SOLID).setMarker(SeriesMarkers.CIRCLE);
        return chart;
    }

    private static XYSeries line(XYChart chart, String name, List<Double> x, List<Double> y, Color color,
                                 java.awt.BasicStroke stroke) {
        XYSeries series = chart.addSeries(name, x, y);
        series.setLineColor(color);
        series.setMarkerColor(color);
        series.setLineStyle(stroke);
        series.setMarker(SeriesMarkers.NONE);
        return series;
    }

    private static List<Double> flat(double value) {
        return Collections.nCopies(Reproduce.K, value);
    }
}
