// Photos are resized on the phone before they are stored: at most 1280 px on
// the long side, JPEG.  A cheap phone's camera gives 4-12 MB; this gives ~150 KB.
export const MAX_SIDE = 1280;

export async function resizePhoto(file, maxSide = MAX_SIDE, quality = 0.8) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be encoded"))), "image/jpeg", quality));
}
