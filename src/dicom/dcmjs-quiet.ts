import dcmjs from 'dcmjs';

let quiet = false;
/** dcmjs logs every odd value through loglevel; the bridge reports problems itself. */
export function silenceDcmjs(): void {
  if (quiet) return;
  dcmjs.log.setLevel('silent');
  dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');
  quiet = true;
}
