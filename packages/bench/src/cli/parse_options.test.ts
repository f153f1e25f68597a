import { InvalidArgumentError } from 'commander';
import { fractionList, intList, oneOfList, parseBackend, percent, positiveInt, shapeList } from './parse_options';

describe('CLI option parsers', () => {
  it('accept good values', () => {
    expect(positiveInt('epochs')('3')).toBe(3);
    expect(parseBackend('wasm')).toBe('wasm');
    expect(oneOfList('methods', ['a', 'b'] as const)('a,b,a')).toEqual(['a', 'b']);
    expect(intList('hidden')('500,500')).toEqual([500, 500]);
    expect(fractionList('0.02,0.5,1')).toEqual([0.02, 0.5, 1]);
    expect(shapeList('32x500x500:20, 10x784x500:5')).toEqual([
      { batch: 32, inDim: 500, outDim: 500, k: 20 },
      { batch: 10, inDim: 784, outDim: 500, k: 5 },
    ]);
    expect(percent('10%')).toBeCloseTo(0.1);
    expect(percent('2.5')).toBeCloseTo(0.025);
  });

  it('reject bad values with a message saying what was expected', () => {
    expect(() => positiveInt('epochs')('0')).toThrow(InvalidArgumentError);
    expect(() => positiveInt('epochs')('2.5')).toThrow(/epochs must be an integer >= 1/);
    expect(() => parseBackend('gpu')).toThrow(/expected one of cpu, wasm, tensorflow/);
    expect(() => oneOfList('methods', ['a', 'b'] as const)('a,c')).toThrow(/methods: 'c' is not one of a, b/);
    expect(() => fractionList('0.5,2')).toThrow(/'2' is not a fraction in \(0, 1\]/);
    expect(() => shapeList('32x500:20')).toThrow(/is not of the form batchxinxout:k/);
    expect(() => shapeList('32x500x10:20')).toThrow(/k \(20\) must not exceed out \(10\)/);
    expect(() => percent('abc')).toThrow(/percentage/);
  });
});
