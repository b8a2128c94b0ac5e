// The parts of Apache ECharts the report pages use, as one ES module: bar, line and heatmap
// charts on a canvas (no SVG renderer, no HTML tooltips: nothing that needs inline styles).
import * as echarts from "echarts/core";
import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  AriaComponent, DatasetComponent, GridComponent, LegendComponent, MarkLineComponent,
  TitleComponent, TooltipComponent, VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart, HeatmapChart, LineChart, AriaComponent, DatasetComponent, GridComponent, LegendComponent,
  MarkLineComponent, TitleComponent, TooltipComponent, VisualMapComponent, CanvasRenderer,
]);

export const { init, getInstanceByDom, version } = echarts;
