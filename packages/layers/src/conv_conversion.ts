// What mePropify needs to convert convolution layers: the tfjs class -> meProp class table, and why a conv
// layer config has to stay exact (registers the meProp conv classes as a side effect).
import { convUnsupportedReason } from './me_prop_conv';

/** tfjs conv class name -> ours. */
export const CONV_LAYER_MAP: { [className: string]: string } = {
  Conv1D: 'MeProp>Conv1D',
  Conv2D: 'MeProp>Conv2D',
  DepthwiseConv2D: 'MeProp>DepthwiseConv2D',
  SeparableConv2D: 'MeProp>SeparableConv2D',
};

/** Why a layer entry of a model config cannot be converted (null when it can, or is not a conv layer). */
export function convSkipReason(className: string, config: { [key: string]: unknown }): string | null {
  if (CONV_LAYER_MAP[className] === undefined) return null;
  return convUnsupportedReason(config as { dataFormat?: string; dilationRate?: number | number[]; padding?: string });
}

interface LayerLike {
  name: string;
  getClassName(): string;
  layers?: LayerLike[];
  depthMultiplier?: number;
}

interface ConfigEntry {
  className: string;
  config: { [key: string]: unknown };
}

/**
 * tfjs 4.22's SeparableConv2D.getConfig() leaves out `depthMultiplier`, so a copy rebuilt from the config
 * gets multiplier 1 and a kernel of the wrong shape. Writes it back into the config entries (also of nested
 * models) from the original layers, matched by name.
 */
export function addSeparableDepthMultipliers(original: LayerLike, cfg: { layers: ConfigEntry[] }): void {
  const byName = new Map<string, LayerLike>();
  const collect = (l: LayerLike): void => {
    byName.set(l.name, l);
    for (const inner of l.layers ?? []) collect(inner);
  };
  collect(original);
  const visit = (entries: ConfigEntry[]): void => {
    for (const e of entries) {
      const inner = e.config.layers as ConfigEntry[] | undefined;
      if (Array.isArray(inner)) visit(inner);
      const layer = byName.get(String(e.config.name));
      if (e.className === 'SeparableConv2D' && layer?.depthMultiplier !== undefined)
        e.config.depthMultiplier = layer.depthMultiplier;
    }
  };
  visit(cfg.layers);
}
