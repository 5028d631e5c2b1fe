// What the user pool (lib/) and the sign-in adapter agree on: the Cognito custom
// attribute that carries the directory's immutable id of a federated user (AD objectGUID
// from AD FS, or the on-premises id from Entra ID), mapped from the IdP's claim.

/** The attribute's name in the pool; the ID token carries it as `custom:<name>`. */
export const DIRECTORY_ID_ATTRIBUTE = 'directory_id';
export const DIRECTORY_ID_CLAIM = `custom:${DIRECTORY_ID_ATTRIBUTE}`;
