/** Implementation Class UID sent in associations and written in file meta (a UUID-derived 2.25 UID). */
export const IMPLEMENTATION_CLASS_UID = '2.25.163870916924384740958395811230436416841';
/** Implementation Version Name (at most 16 characters). */
export const IMPLEMENTATION_VERSION_NAME = 'PACSFSEBRIDGE01';
