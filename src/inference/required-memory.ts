/** Working memory a model needs, in bytes. */
export interface RequiredMemory {
  readonly ram: number;
  readonly vram: number;
}
