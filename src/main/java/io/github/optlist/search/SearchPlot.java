package io.github.optlist.search;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Draws {@code search.png}: the best objective against the number of trials, and the best trials' loss curves. */
final class SearchPlot {

    static final int CURVES = 4;

    private SearchPlot() {
    }

    static void write(SearchResult result, Path png) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        BitmapEncoder.saveBitmap(List.of(bestSoFarChart(result), curvesChart(result)), 1, 2, png.toString(),
                BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart bestSoFarChart(SearchResult result) {
        XYChart chart = new XYChartBuilder().width(640).height(440)
                .title(result.task() + ": best objective after n trials")
                .xAxisTitle("number of trials (list order)").yAxisTitle("objective (" + result.direction()
                        .name().toLowerCase() + ")").build();
        chart.getStyler().setLegendVisible(true);
        List<Double> x = new ArrayList<>();
        List<Double> best = new ArrayList<>();
        List<Double> okX = new ArrayList<>();
        List<Double> okY = new ArrayList<>();
        List<Double> bestSoFar = result.bestSoFar();
        for (int i = 0; i < result.trials().size(); i++) {
            TrialResult t = result.trials().get(i);
            if (!Double.isNaN(bestSoFar.get(i))) {
                x.add(i + 1.0);
                best.add(bestSoFar.get(i));
            }
            if (t.ok()) {
                okX.add(i + 1.0);
                okY.add(t.objective());
            }
        }
        if (!x.isEmpty()) {
            chart.getStyler().setYAxisLogarithmic(okY.stream().allMatch(v -> v > 0));
            chart.addSeries("best so far", x, best).setMarker(SeriesMarkers.NONE);
            XYSeries each = chart.addSeries("each trial", okX, okY);
            each.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        } else {
            chart.addSeries("no successful trial", List.of(0.0), List.of(0.0));
        }
        return chart;
    }

    private static XYChart curvesChart(SearchResult result) {
        XYChart chart = new XYChartBuilder().width(640).height(440)
                .title("training loss of the best " + CURVES + " trials")
                .xAxisTitle("step").yAxisTitle("training loss").build();
        boolean positive = true;
        for (TrialResult t : result.bestTrials(CURVES)) {
            if (t.curve().isEmpty()) {
                continue;
            }
            List<Double> steps = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            for (TrialResult.LossPoint p : t.curve()) {
                steps.add((double) p.step());
                losses.add(p.loss());
                positive &= p.loss() > 0;
            }
            chart.addSeries(t.label() + " (" + t.name() + ")", steps, losses).setMarker(SeriesMarkers.NONE);
        }
        if (chart.getSeriesMap().isEmpty()) {
            chart.addSeries("no successful trial", List.of(0.0), List.of(0.0));
        } else {
            chart.getStyler().setYAxisLogarithmic(positive);
        }
        return chart;
    }
}
