/**
 * Classifies AWS SDK errors by their error code. The SDK puts the service's code in `name`
 * (and EC2's query protocol also in `Code`); matching on the code rather than on exception
 * classes keeps these helpers independent of which client threw.
 */
export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const { name, Code } = error as { name?: unknown; Code?: unknown };
    // EC2 errors carry the real code in both; prefer Code when the name is the generic one.
    if (typeof Code === 'string' && Code !== '' && (typeof name !== 'string' || name === 'Error')) {
      return Code;
    }
    if (typeof name === 'string' && name !== '') return name;
    if (typeof Code === 'string' && Code !== '') return Code;
  }
  return 'UnknownError';
}

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
]);

/** EC2 could not place the instance here; another subnet or instance type may work. */
const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientCapacity',
  'InsufficientReservedInstanceCapacity',
  'Unsupported',
  'InsufficientFreeAddressesInSubnet',
]);

export const isThrottling = (error: unknown): boolean => THROTTLING.has(errorName(error));

export const isCapacity = (error: unknown): boolean => CAPACITY.has(errorName(error));

/** EC2 says `InvalidInstanceID.NotFound`, `InvalidGroup.NotFound`…; other services say `ResourceNotFoundException`. */
export function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return (
    name.endsWith('.NotFound') ||
    name === 'NotFound' ||
    name === 'ResourceNotFoundException' ||
    name === 'NotFoundException'
  );
}

/** A security group still referenced (usually by the ENI of an instance that is terminating). */
export const isDependencyViolation = (error: unknown): boolean =>
  errorName(error) === 'DependencyViolation';
