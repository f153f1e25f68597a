// @meprop/layers/node: everything in @meprop/layers plus what needs Node's fs and path (folderIO). Kept out of
// the main entry so that browser bundles of @meprop/layers never see Node's modules.
export * from './index';
export { folderIO } from './io/folder_io';
export type { FolderIOHandler } from './io/folder_io';
